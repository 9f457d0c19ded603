"""HTML pages for every resource and the inline SVG map they draw."""
