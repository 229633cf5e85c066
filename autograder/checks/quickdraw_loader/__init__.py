"""Hidden checks of the quickdraw_loader assignment."""
