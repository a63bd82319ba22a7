"""Typed repositories over the hub's collections: the only code that touches them. Each module
owns one collection group, its indexes and write concerns, and hands out models, never raw
documents."""
