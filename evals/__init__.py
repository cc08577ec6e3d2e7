"""Newsdesk's eval suites: QA cases scored for retrieval, citations, answers and abstention."""
