"""pointillist: consultation, planning and simulation for scalp micropigmentation."""

__version__ = "0.1.0"
