#!/bin/sh
# Install the spreadsheet engines the tests recalculate with (LibreOffice,
# Gnumeric) and poppler-utils, when they are missing and we may: as root with
# apt-get. Otherwise say what is missing; the tests that need an engine then
# skip (or fail, when CI=true).
need=""
command -v soffice >/dev/null 2>&1 || need="$need libreoffice-calc-nogui"
command -v ssconvert >/dev/null 2>&1 || need="$need gnumeric"
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing:$need" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q $need >/dev/null
else
  echo "missing:$need (install them to run the recalculation tests)" >&2
fi
