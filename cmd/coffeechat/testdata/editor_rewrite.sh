#!/bin/sh
# A scripted $EDITOR: new subject, a Cc, and a postscript on the draft in $1.
f="$1"
awk '/^Subject: /{print "Subject: Quick question about sports marketing"; next}
     /^Cc:/{print "Cc: Pat Rivera <pat@example.com>"; next} {print}' "$f" > "$f.new" && mv "$f.new" "$f"
printf 'P.S. Edited by hand.\n' >> "$f"
