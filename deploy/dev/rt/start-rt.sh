#!/usr/bin/env bash
# start-rt.sh: start a throw-away Request Tracker 5 (Debian packages) on
# 127.0.0.1 for procbot's tests, backed by a fresh SQLite DB in a temp dir.
#
# Usage (don't use eval "$(...)": eval of an empty string succeeds, so a failed
# start would go unnoticed):
#   f=$(mktemp) && deploy/dev/rt/start-rt.sh > "$f" && . "$f"
#   trap 'deploy/dev/rt/stop-rt.sh "$RT_STATE_DIR"' EXIT
#
# stdout: only `export NAME=value` lines (RT_URL RT_REST2_URL RT_USER RT_PASSWORD
# RT_TOKEN RT_PID RT_ACCESS_LOG RT_STATE_DIR RT_MAIL_MBOX RT_TIMEZONE RT_TEST_USERS, and for the
# least-privilege account RT_PROCBOT_USER RT_PROCBOT_TOKEN RT_PROCBOT_QUEUES
# RT_SPACED_QUEUE RT_LIFECYCLE_QUEUE RT_FORBIDDEN_QUEUE); they are also saved
# in $RT_STATE_DIR/env. Progress and errors go to stderr.
#
# Environment (all optional):
#   RT_PORT           TCP port on 127.0.0.1 (default: a free port)
#   RT_TIMEZONE       RT's $Timezone, e.g. Europe/Amsterdam (default UTC). TicketSQL
#                     date literals are read in this zone; REST2 output is always UTC.
#   RT_WORKERS        Starlet worker processes (default 2, ~200 MB each)
#   RT_WEBPATH        RT's $WebPath, where it is served (default /rt, as EGI's
#                     RT: REST 2.0 is then under /rt/REST/2.0); "" serves it at /
#   RT_ROOT_PASSWORD  password of RT user root (default: password)
#   RT_START_TIMEOUT  seconds to wait for the first HTTP 200 (default 60)
#   RT_KEEP_STATE=1   on failure, keep the state dir for debugging
#   RT_SKIP_INSTALL=1 never call apt-get (see install-rt.sh)
#   TMPDIR            where the state dir is made (default /tmp)
set -euo pipefail

log() { printf '[start-rt %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RT_LIB=/usr/share/request-tracker5/lib
RT_SERVER=/usr/share/request-tracker5/libexec/rt-server
RT_SETUP_DB=/usr/sbin/rt-setup-database-5

RT_TIMEZONE=${RT_TIMEZONE:-UTC}
RT_WORKERS=${RT_WORKERS:-2}
RT_WEBPATH=${RT_WEBPATH-/rt}
RT_WEBPATH=${RT_WEBPATH%/}
case "$RT_WEBPATH" in "" | /*) ;; *) die "RT_WEBPATH must start with / (or be empty): $RT_WEBPATH" ;; esac
RT_ROOT_PASSWORD=${RT_ROOT_PASSWORD:-password}
RT_START_TIMEOUT=${RT_START_TIMEOUT:-60}
RT_USER=root
QUEUES=(PROC19 sw-rel)       # General exists in RT's default data
CF_NAME=ProcbotMarker        # ticket CF, applied to General and QUEUES
TEST_USERS=(operator applicant unit)  # see below; password "<name>-password"
# As EGI's production RT is configured: procbot acts as a user with rights on
# its own queues only (not on sw-rel, not on General), queue names have
# spaces, and one queue runs a lifecycle of its own (see write_config).
PROCBOT_USER=procbot
SPACED_QUEUE="PROC19 Integration"
LIFECYCLE_QUEUE=Requirements
PROCBOT_QUEUES=(PROC19 "$SPACED_QUEUE" "$LIFECYCLE_QUEUE")
FORBIDDEN_QUEUE=sw-rel
# What procbot needs on a queue: find it, see, create, reply, comment on and
# change tickets, read the comments.
PROCBOT_RIGHTS=(SeeQueue ShowTicket CreateTicket ReplyToTicket CommentOnTicket ModifyTicket ShowTicketComments)

# --------------------------------------------------------------- checks
[[ $RT_TIMEZONE =~ ^[A-Za-z0-9_+/-]+$ ]] && [ -f "/usr/share/zoneinfo/$RT_TIMEZONE" ] \
    || die "RT_TIMEZONE='$RT_TIMEZONE' is not a time zone in /usr/share/zoneinfo"
[[ $RT_WORKERS =~ ^[1-9][0-9]*$ ]] || die "RT_WORKERS must be a positive integer"
[[ $RT_START_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "RT_START_TIMEOUT must be a positive integer"
[[ -z ${RT_PORT:-} || $RT_PORT =~ ^[1-9][0-9]{0,4}$ ]] || die "RT_PORT must be a port number"
[[ $RT_ROOT_PASSWORD != *$'\n'* && -n $RT_ROOT_PASSWORD ]] || die "RT_ROOT_PASSWORD must be one non-empty line"

# --------------------------------------------------------------- 1. install
"$HERE/install-rt.sh" || die "install-rt.sh failed"
command -v curl > /dev/null || die "curl not found"
t_start=$SECONDS

# --------------------------------------------------------------- 2. state dir
STATE=$(mktemp -d "${TMPDIR:-/tmp}/procbot-rt.XXXXXX")
STATE=$(cd "$STATE" && pwd -P)
# The path goes into Perl single-quoted strings below.
case "$STATE" in *"'"* | *'\'*) rmdir "$STATE"; die "state dir path must not contain ' or \\: $STATE" ;; esac
# stop-rt.sh only deletes directories that carry this marker.
echo "procbot throw-away RT state; remove with deploy/dev/rt/stop-rt.sh" > "$STATE/.procbot-rt-state"
mkdir -p "$STATE/etc/RT_SiteConfig.d" "$STATE/mason_data" "$STATE/session_data"
: > "$STATE/outgoing-mail.mbox"

RT_PID=""
on_exit() {
    local rc=$?
    [ "$rc" = 0 ] && return
    if [ -n "$RT_PID" ] && kill -0 "$RT_PID" 2> /dev/null; then
        kill -TERM "$RT_PID" 2> /dev/null || true   # never INT (see stop-rt.sh)
        for _ in $(seq 1 100); do kill -0 "$RT_PID" 2> /dev/null || break; sleep 0.1; done
        kill -0 "$RT_PID" 2> /dev/null && kill -KILL "$RT_PID" 2> /dev/null
    fi
    if [ "${RT_KEEP_STATE:-0}" = 1 ]; then
        log "start failed; state kept in $STATE"
    else
        rm -rf -- "$STATE"
        log "start failed; removed $STATE (RT_KEEP_STATE=1 keeps it)"
    fi
}
trap on_exit EXIT

# RT reads $RT_SITE_CONFIG instead of /etc/request-tracker5/RT_SiteConfig.pm and
# $RT_SITE_CONFIG_DIR instead of both RT_SiteConfig.d dirs (/usr/share and /etc),
# so nothing under /etc/request-tracker5 is read.
export RT_SITE_CONFIG="$STATE/etc/RT_SiteConfig.pm"
export RT_SITE_CONFIG_DIR="$STATE/etc/RT_SiteConfig.d"

free_port() {
    perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1,
        LocalAddr => "127.0.0.1", LocalPort => 0, ReuseAddr => 1) or die "$!\n"; print $s->sockport'
}

write_config() { # PORT
    cat > "$RT_SITE_CONFIG" << EOF
# Written by procbot deploy/dev/rt/start-rt.sh: throw-away RT for tests.
Set(\$rtname, 'rt.test');
Set(\$Organization, 'rt.test');
Set(\$CorrespondAddress, 'rt@rt.test');
Set(\$CommentAddress, 'rt-comment@rt.test');
Set(\$Timezone, '$RT_TIMEZONE');
# Passwords and tokens are bcrypt-checked on EVERY REST2 request. The default
# cost 12 costs ~250 ms per request. It must be set before the DB is initialised:
# root's password hash is made then.
Set(\$BcryptCost, 4);

Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$STATE/rt5.db');

# REST2 builds every "_url" from these: keep them equal to the listen address.
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $1);
Set(\$WebPath, '$RT_WEBPATH');

Set(\$MasonDataDir, '$STATE/mason_data');
Set(\$MasonSessionDir, '$STATE/session_data');

# A lifecycle like the one of EGI's Requirements queue: tickets are created
# "new" only, and "resolved" is reached through "accepted" and "in progress".
# RT merges %Lifecycles with its own, so "default" stays as it is.
Set(%Lifecycles,
    requirements => {
        initial     => [ 'new' ],
        active      => [ 'accepted', 'in progress', 'stalled' ],
        inactive    => [ 'resolved', 'rejected' ],
        defaults    => { on_create => 'new' },
        transitions => {
            ''            => [ 'new' ],
            'new'         => [ 'accepted', 'rejected' ],
            'accepted'    => [ 'in progress' ],
            'in progress' => [ 'stalled', 'resolved' ],
            'stalled'     => [ 'in progress' ],
            'resolved'    => [ 'in progress' ],
            'rejected'    => [],
        },
    },
);

Set(\$LogToSyslog, undef);
Set(\$LogToFile, undef);
Set(\$LogToSTDERR, 'warning');

# No sendmail: every outgoing mail is appended to an mbox in the state dir.
Set(\$MailCommand, sub {
    my \$entity = shift;
    open(my \$fh, '>>', '$STATE/outgoing-mail.mbox') or return 0;
    print \$fh "From rt\@localhost " . scalar(localtime) . "\n", \$entity->stringify, "\n";
    close \$fh;
    return 1;
});
1;
EOF
}

if [ -n "${RT_PORT:-}" ]; then port=$RT_PORT; else port=$(free_port); fi
write_config "$port"

queue_list=""
for q in "${QUEUES[@]}" "$SPACED_QUEUE" "$LIFECYCLE_QUEUE"; do
    queue_list+="'$q', "
    lifecycle=default
    [ "$q" = "$LIFECYCLE_QUEUE" ] && lifecycle=requirements
    cat >> "$STATE/etc/initialdata" << EOF
push @Queues, { Name => '$q', Description => 'procbot test queue', Lifecycle => '$lifecycle',
                CorrespondAddress => '', CommentAddress => '' };
EOF
done
cat >> "$STATE/etc/initialdata" << EOF
push @Users, { Name => '$PROCBOT_USER', EmailAddress => '$PROCBOT_USER@rt.test', RealName => 'procbot',
               Privileged => 1 };
EOF
for q in "${PROCBOT_QUEUES[@]}"; do
    for r in "${PROCBOT_RIGHTS[@]}"; do
        echo "push @ACL, { UserId => '$PROCBOT_USER', Queue => '$q', Right => '$r' };" >> "$STATE/etc/initialdata"
    done
done
# People for end-to-end tests: an operator who approves, an applicant, and a
# unit that closes children. Each has the password "<name>-password".
for u in "${TEST_USERS[@]}"; do
    cat >> "$STATE/etc/initialdata" << EOF
push @Users, { Name => '$u', EmailAddress => '$u@rt.test', RealName => 'procbot test $u',
               Password => '$u-password', Privileged => 1 };
push @ACL, { UserId => '$u', Right => 'SuperUser' };
EOF
done
cat >> "$STATE/etc/initialdata" << EOF
@CustomFields = (
    { Name => '$CF_NAME', Type => 'FreeformSingle', LookupType => 'RT::Queue-RT::Ticket',
      Queue => [ 'General', $queue_list], Description => 'procbot idempotency marker' },
);
1;
EOF

# --------------------------------------------------------------- 3. database
log "initialising SQLite DB in $STATE"
t0=$SECONDS
setup_log="$STATE/setup-database.log"
(umask 077 && printf '%s\n' "$RT_ROOT_PASSWORD" > "$STATE/root-password")
# No --datafile on init: that would REPLACE RT's default data (General, scrips...).
"$RT_SETUP_DB" --action init --skip-create --root-password-file "$STATE/root-password" \
    > "$setup_log" 2>&1 || { cat "$setup_log" >&2; die "rt-setup-database --action init failed"; }
"$RT_SETUP_DB" --action insert --datafile "$STATE/etc/initialdata" \
    >> "$setup_log" 2>&1 || { cat "$setup_log" >&2; die "rt-setup-database --action insert failed"; }

# Auth tokens for root and procbot's user, made with RT's own API straight
# in the DB.
make_token() { # USER
    local tok
    tok=$(perl -I"$RT_LIB" -e '
        use strict; use warnings;
        use RT; RT::LoadConfig(); RT::Init();
        my $user = RT::User->new(RT->SystemUser);
        $user->Load($ARGV[0]) or die "no user $ARGV[0]\n";
        my ($id, $msg, $auth) = RT::AuthToken->new(RT->SystemUser)
            ->Create(Owner => $user->Id, Description => "procbot tests");
        die "token create failed: $msg\n" unless $id;
        print "$auth\n";' "$1" 2>> "$setup_log") \
        || { cat "$setup_log" >&2; die "auth token creation for $1 failed"; }
    tok=${tok##*$'\n'}
    [[ $tok =~ ^[0-9]+-[0-9]+-[0-9a-f]+$ ]] || { cat "$setup_log" >&2; die "unexpected token '$tok' for $1"; }
    printf '%s' "$tok"
}
RT_TOKEN=$(make_token root)
RT_PROCBOT_TOKEN=$(make_token "$PROCBOT_USER")
log "DB ready in $((SECONDS - t0))s"

# --------------------------------------------------------------- 4. server
start_server() { # PORT; sets RT_PID
    # setsid: own session, so a terminal Ctrl-C (SIGINT) never reaches rt-server,
    # whose INT handler, as root, chowns /var/lib/request-tracker5 to www-data.
    # exec all the way down: $! is the Starlet master's PID.
    # --webpath mounts RT under $WebPath, as a proxy in front of RT would.
    (cd "$STATE" && exec setsid perl -w "$RT_SERVER" --server Starlet \
        --host 127.0.0.1 --port "$1" --max-workers "$RT_WORKERS" ${RT_WEBPATH:+--webpath "$RT_WEBPATH"} \
        --access-log "$STATE/access.log" \
        < /dev/null > "$STATE/server.log" 2>&1) &
    RT_PID=$!
    echo "$RT_PID" > "$STATE/server.pid"
}

# The probe uses OUR token: a 200 proves it is our server (another RT that won a
# race for the same port would answer 401).
probe() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        -H "Authorization: token $RT_TOKEN" "http://127.0.0.1:$port$RT_WEBPATH/REST/2.0/rt" || true
}

attempt=1
while :; do
    log "starting rt-server (Starlet, $RT_WORKERS workers) on 127.0.0.1:$port"
    t0=$SECONDS
    start_server "$port"
    deadline=$((SECONDS + RT_START_TIMEOUT))
    ready=0
    while [ "$SECONDS" -lt "$deadline" ]; do
        [ "$(probe)" = 200 ] && { ready=1; break; }
        kill -0 "$RT_PID" 2> /dev/null || break
        sleep 0.2
    done
    [ "$ready" = 1 ] && break
    if ! kill -0 "$RT_PID" 2> /dev/null && [ -z "${RT_PORT:-}" ] && [ "$attempt" -lt 3 ] \
        && grep -qiE "couldn't start up a web server|address already in use|failed to listen" "$STATE/server.log"; then
        log "port $port was taken meanwhile; trying another"
        attempt=$((attempt + 1))
        port=$(free_port)
        write_config "$port"
        continue
    fi
    log "---- $STATE/server.log ----"
    cat "$STATE/server.log" >&2
    log "---- end of server.log ----"
    if kill -0 "$RT_PID" 2> /dev/null; then
        die "rt-server did not answer within ${RT_START_TIMEOUT}s"
    fi
    die "rt-server exited before answering"
done
log "rt-server pid $RT_PID answers after $((SECONDS - t0))s (start-rt total $((SECONDS - t_start))s, without install)"

# --------------------------------------------------------------- 5. report
RT_URL="http://127.0.0.1:$port$RT_WEBPATH"
{
    printf 'export %s=%q\n' \
        RT_URL "$RT_URL" \
        RT_REST2_URL "$RT_URL/REST/2.0" \
        RT_USER "$RT_USER" \
        RT_PASSWORD "$RT_ROOT_PASSWORD" \
        RT_TOKEN "$RT_TOKEN" \
        RT_PID "$RT_PID" \
        RT_ACCESS_LOG "$STATE/access.log" \
        RT_STATE_DIR "$STATE" \
        RT_MAIL_MBOX "$STATE/outgoing-mail.mbox" \
        RT_TIMEZONE "$RT_TIMEZONE" \
        RT_TEST_USERS "${TEST_USERS[*]}" \
        RT_PROCBOT_USER "$PROCBOT_USER" \
        RT_PROCBOT_TOKEN "$RT_PROCBOT_TOKEN" \
        RT_PROCBOT_QUEUES "$(IFS=,; echo "${PROCBOT_QUEUES[*]}")" \
        RT_SPACED_QUEUE "$SPACED_QUEUE" \
        RT_LIFECYCLE_QUEUE "$LIFECYCLE_QUEUE" \
        RT_FORBIDDEN_QUEUE "$FORBIDDEN_QUEUE"
} > "$STATE/env"
cat "$STATE/env"
