"""What the tests (and bench/) build on: the platform-free driver and the canonical cluster, a clock
turned by hand, local stand-ins for Slack's Web API and Socket Mode and for Microsoft's side of Teams,
signed-request helpers, and a TCP relay to cut a database. Not part of the product: never imported by
bot/, commands/, reports/, storage/ or analysis/."""
