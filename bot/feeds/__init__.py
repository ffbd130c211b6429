"""Feeds: fetch a campaign's RSS/Atom feed or web page and turn new posts into draft statements."""
