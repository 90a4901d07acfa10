"""Hosted browser pages: templates, static files and (later) the routes that serve them."""
