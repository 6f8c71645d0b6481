"""simcc_lab: learn and reproduce SimCC (coordinate classification for pose estimation)."""
__version__ = "0.1.0"
