"""Files shared with a cluster's channel by link, for a platform that cannot put a file in a channel
itself (Teams without Microsoft Graph): kept for a number of days, served to whoever holds the link.

The link is the only key: a token of 256 random bits, its hash stored, and an expiry. Who may open it
is whoever was shown it (the channel's members) or was given it; that is the trade-off against Graph
(docs/design.md, Microsoft Teams: Files).
"""

from datetime import timedelta

from commands.results import Upload
from storage import clusters as cluster_store
from storage import shared_files as store
from storage.clock import now as now_of

# What a browser is told each file is; anything else is a download of unknown bytes.
CONTENT_TYPES = {
    "png": "image/png",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "ics": "text/calendar",  # a meeting's calendar invite (commands/meetings/invite.py)
}
OTHER = "application/octet-stream"


def content_type(file_name: str) -> str:
    return CONTENT_TYPES.get(file_name.rpartition(".")[2].lower(), OTHER)


def keep(session, upload: Upload, keep_for: timedelta) -> str | None:
    """Keep the upload's file for the cluster in its channel; its link's token (None: no cluster there)."""
    cluster = cluster_store.find_cluster_by_channel(session=session, channel_id=upload.channel)
    if cluster is None:
        return None
    return store.keep(session=session, cluster_id=cluster.id, file_name=upload.filename,
                      content_type=content_type(upload.filename), content=upload.content,
                      expires_at=now_of(session) + keep_for)
