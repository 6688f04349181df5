"""Text the app shows or writes: numbers readable in a narrow column, user-provided strings made inert (markdown
escaped), and safe file names for downloads."""
from .escape import markdown_text, safe_file_name
from .numbers import readable

__all__ = ["markdown_text", "readable", "safe_file_name"]
