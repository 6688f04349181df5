"""The Runs page and the explorer's side of the run library: saving a finished run, links that carry the open run
and the settings (`st.query_params`), the gallery, a run reopened, two runs compared, bundles exported and imported.
The store itself is `ui.store`."""
from .links import publish_explorer, restore_explorer
from .page import runs_page
from .saving import finish_saving, keep, keep_uploads_toggle, saved_note

__all__ = ["finish_saving", "keep", "keep_uploads_toggle", "publish_explorer", "restore_explorer", "runs_page",
           "saved_note"]
