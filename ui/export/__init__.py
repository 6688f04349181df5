"""Exports of runs for slides and sharing: animation frames, GIF and MP4, and a self-contained HTML report.

Pure functions that return arrays, bytes or text; nothing here imports Streamlit (pages offer the results as
downloads). A two-run animation is `stack_frames(frames_a, frames_b)`; a two-run report is `html_report` of both.
"""
from .animation import DEFAULT_FPS, to_gif, to_mp4
from .frames import DEFAULT_FRAMES, animation_frames, difference_factor, frame_indices, stack_frames
from .report import html_report

__all__ = ["DEFAULT_FPS", "DEFAULT_FRAMES", "animation_frames", "difference_factor", "frame_indices", "html_report",
           "stack_frames", "to_gif", "to_mp4"]
