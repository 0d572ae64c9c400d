"""Views of the REST API, one module per resource; ``base`` sets what every one shares."""
