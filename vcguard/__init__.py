"""vcguard: find virtual-currency promotion in Chinese and English posts, leave discussion alone."""

__version__ = "0.1.0"
