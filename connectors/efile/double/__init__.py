"""A faithful test double of the City of Munich's e-file REST interface (EAI).

Start it with ``python -m connectors.efile.double --port 8765 --generate 50``;
see docs/efile.md for users, the cases JSON format and fault injection.
"""

from .generator import PlantedValue, generate_cases

__all__ = ["PlantedValue", "generate_cases"]
