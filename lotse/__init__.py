"""Entry points of Lotse (command line, settings). Sits above all layers."""
