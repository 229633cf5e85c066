"""Hidden checks of the xor assignment."""
