"""Imports: the contracts buyers already publish (DECP open data, 2019 and 2024 formats) and their
ERPs' CSV exports, loaded in one pass through the contracts service."""
