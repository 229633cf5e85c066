"""Hidden checks of the mlp_scratch assignment."""
