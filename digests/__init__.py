"""What the bot posts on its own: the weekly digests, shout-outs, SLA pings and notices, and the jobs that
queue them."""
