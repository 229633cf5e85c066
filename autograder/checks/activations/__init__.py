"""Hidden checks of the activations assignment."""
