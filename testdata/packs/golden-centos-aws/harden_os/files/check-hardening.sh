#!/bin/sh
set -eu
grep -q "^PermitRootLogin no" /etc/ssh/sshd_config
