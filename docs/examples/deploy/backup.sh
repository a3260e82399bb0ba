#!/bin/sh
# /etc/cron.daily/retention-bot-backup — a compressed, consistent dump of the bot's PostgreSQL
# database, 14 kept (docs/deploy.md). Restore: createdb retention_bot && pg_restore -d retention_bot FILE
set -eu
dir=/var/backups/retention-bot
mkdir -p "$dir"
file="$dir/retention_bot-$(date -u +%Y%m%dT%H%M%SZ).dump"
sudo -u postgres pg_dump --format=custom --file="$file.part" retention_bot
mv "$file.part" "$file"
ls -1t "$dir"/retention_bot-*.dump | tail -n +15 | xargs -r rm --
