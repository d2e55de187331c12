#!/bin/sh
# A scripted $EDITOR that hides a Bcc in an encoded word of the subject.
f="$1"
awk '/^Subject: /{print "Subject: =?utf-8?q?Hi=0D=0ABcc:_evil@example.com?="; next} {print}' "$f" > "$f.new" && mv "$f.new" "$f"
