"""wattline: analytics for EV charging and smart energy meters."""

__version__ = "0.1.0"
