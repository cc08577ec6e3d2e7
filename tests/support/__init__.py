"""Helpers the tests and the bench scripts share; none of them is a test.

`servers` (real `chroma run` and llama.cpp servers, as pytest fixtures), `browser_support` (the
chat server and the headless Chromium page), `chat_load` (simultaneous chat sessions),
`fuzz_inputs` (generated malformed inputs and their contract), `kill_runs` (SIGKILLed index
runs compared with clean ones), `council_corpus` (a small invented corpus), `store_snapshot` (a
store's whole state, to compare two stores). Imported as `support.<name>`: tests/conftest.py
and bench/offline_env.py put tests/ on the path.
"""
