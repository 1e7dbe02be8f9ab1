#!/usr/bin/env bash
# smoke.sh: short REST 2.0 check of an RT started by start-rt.sh.
# Needs curl and perl (JSON::PP is core).
#
# Usage: deploy/dev/rt/smoke.sh [STATE_DIR]
#   With no argument it uses the RT_* variables from start-rt.sh's output.
#   Ends with "N passed, N failed"; exit status 1 if anything failed.
set -euo pipefail

if [ -n "${1:-}" ]; then
    [ -f "$1/env" ] || { echo "smoke: $1/env not found" >&2; exit 2; }
    # shellcheck disable=SC1091
    . "$1/env"
fi
: "${RT_REST2_URL:?set RT_* first: . the output of start-rt.sh, or pass STATE_DIR}" "${RT_TOKEN:?}"

B=$RT_REST2_URL
pass=0 fail=0
check() { # DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then pass=$((pass + 1)); echo "ok   - $what"; else fail=$((fail + 1)); echo "FAIL - $what (HTTP $CODE: ${BODY:0:300})"; fi
}
CODE="" BODY=""
# req METHOD PATH [JSON-BODY]: sets CODE and BODY
req() {
    local args=(-sS -X "$1" -H "Authorization: token $RT_TOKEN" -w '\n%{http_code}') out
    [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    out=$(curl "${args[@]}" "$B$2") || out=$'\n000'
    CODE=${out##*$'\n'} BODY=${out%$'\n'*}
}
# search TICKETSQL: GET /tickets, sets CODE and BODY
search() {
    local out
    out=$(curl -sS -G -w '\n%{http_code}' -H "Authorization: token $RT_TOKEN" \
        --data-urlencode "query=$1" --data-urlencode orderby=id "$B/tickets") || out=$'\n000'
    CODE=${out##*$'\n'} BODY=${out%$'\n'*}
}
# j PERL-EXPR: evaluate on the decoded BODY ($d); prints "" on any error
j() {
    printf '%s' "$BODY" | perl -MJSON::PP -e 'local $/; my $d = eval { JSON::PP->new->decode(<STDIN>) };
        my $r = eval $ARGV[0]; print defined $r ? $r : ""' "$1" 2> /dev/null || true
}

MARKER="procbot-smoke-$$-$(date +%s)"

req GET /rt
check "token auth: GET /rt -> 200" [ "$CODE" = 200 ]

req GET /queue/sw-rel
check "queue sw-rel exists" [ "$CODE" = 200 -a "$(j '$d->{Name}')" = sw-rel ]

req GET /queue/PROC19
check "queue PROC19 has custom field ProcbotMarker" \
    [ "$CODE" = 200 -a -n "$(j '(grep { $_->{name} eq "ProcbotMarker" } @{$d->{TicketCustomFields}})[0]{id}')" ]

req POST /ticket "{\"Queue\":\"PROC19\",\"Subject\":\"smoke $MARKER\",\"Content\":\"created by smoke.sh\",\"ContentType\":\"text/plain\",\"CustomFields\":{\"ProcbotMarker\":\"$MARKER\"}}"
PARENT=$(j '$d->{id}')
check "create ticket in PROC19 with marker -> 201" [ "$CODE" = 201 -a -n "$PARENT" ]

search "'CF.{ProcbotMarker}' = '$MARKER'"
check "TicketSQL 'CF.{ProcbotMarker}' = '…' finds exactly it" [ "$(j '$d->{total}')" = 1 -a "$(j '$d->{items}[0]{id}')" = "$PARENT" ]

req POST "/ticket/$PARENT/comment" '{"Content":"smoke comment","ContentType":"text/plain"}'
check "comment -> 201 'Comments added'" [ "$CODE" = 201 -a "$(j '$d->[0]')" = "Comments added" ]

req POST /ticket "{\"Queue\":\"PROC19\",\"Subject\":\"smoke $MARKER child\",\"Parent\":$PARENT}"
CHILD=$(j '$d->{id}')
check "create child with Parent at create -> 201" [ "$CODE" = 201 -a -n "$CHILD" ]

req GET "/ticket/$PARENT"
check "parent: marker value reads back" \
    [ "$CODE" = 200 -a "$(j '(grep { $_->{name} eq "ProcbotMarker" } @{$d->{CustomFields}})[0]{values}[0]')" = "$MARKER" ]
check "parent _hyperlinks: ref=child id=$CHILD" \
    [ "$CODE" = 200 -a -n "$CHILD" -a "$(j '(grep { $_->{ref} eq "child" } @{$d->{_hyperlinks}})[0]{id}')" = "$CHILD" ]

req GET "/ticket/$CHILD"
check "child _hyperlinks: ref=parent id=$PARENT" \
    [ "$CODE" = 200 -a -n "$PARENT" -a "$(j '(grep { $_->{ref} eq "parent" } @{$d->{_hyperlinks}})[0]{id}')" = "$PARENT" ]

req GET "/ticket/$PARENT/history?per_page=100&fields=Type"
check "history has a Comment transaction" [ "$CODE" = 200 -a -n "$(j '(grep { $_->{Type} eq "Comment" } @{$d->{items}})[0]')" ]

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
