"""chiso: measures, monitors and scores how Hanoi delivers its digital-transformation plans."""

__version__ = "0.1.0"
