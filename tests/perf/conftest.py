from tests.documents.conftest import archive, doc_sm, parties  # noqa: F401  (the archive's fixtures)
