#!/bin/sh
# A scripted $EDITOR that adds a header the draft may not have.
f="$1"
awk 'NR==1{print; print "Reply-To: evil@example.com"; next} {print}' "$f" > "$f.new" && mv "$f.new" "$f"
