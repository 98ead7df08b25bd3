# Shared by scripts/*: paths, the project venv, the local AWS endpoint.
# Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

# One target directory shared by every clone on this machine: CI's fresh
# clone then reuses what earlier builds compiled (the AWS SDK takes minutes).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/evently/target}"

# A trap of sharing it: cargo names a workspace crate's build by name and
# version, not by the clone it came from, and judges it fresh by the times
# of the source files it was built from — another clone's. So after clone B
# builds, clone A can silently link B's code. Whenever the last build came
# from another clone, mark this clone's sources as changed (third-party
# crates stay shared; only the workspace's own crates rebuild).
claim_target_dir() {
  local stamp="$CARGO_TARGET_DIR/.evently-built-from"
  mkdir -p "$CARGO_TARGET_DIR"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$ROOT" ]; then
    git -C "$ROOT" ls-files -z -- '*.rs' '*Cargo.toml' '*.html' '*.txt' 2>/dev/null \
      | (cd "$ROOT" && xargs -0 -r touch)
    echo "$ROOT" >"$stamp"
  fi
}

# Every clone's test executables and incremental caches land in the shared
# target dir and stay there (it grew to 70 GB on a busy machine): what was
# last built more than three days ago goes. Cargo rebuilds (relinks) any of
# it that is still wanted; third-party crates' libraries are kept.
prune_target_dir() {
  local debug="$CARGO_TARGET_DIR/debug"
  [ -d "$debug/deps" ] || return 0
  find "$debug/deps" -maxdepth 1 -type f -perm -u+x ! -name '*.so' -mtime +3 -delete 2>/dev/null || true
  find "$debug/incremental" -mindepth 1 -maxdepth 1 -type d -mtime +3 -exec rm -rf {} + 2>/dev/null || true
}
VENV="$ROOT/.venv"

# Never let a local run reach a real AWS account.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_rust() {
  command -v cargo >/dev/null || die "cargo is not installed: install Rust with rustup first (https://rustup.rs)"
  claim_target_dir
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt >/dev/null
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy >/dev/null
}

# The Python venv with the pinned local AWS endpoint and cfn-lint. Reinstalls
# when local/moto/requirements.txt changes.
ensure_venv() {
  local stamp="$VENV/.requirements.txt"
  if [ -x "$VENV/bin/python" ] && cmp -s local/moto/requirements.txt "$stamp"; then
    return
  fi
  say "installing the local AWS endpoint (moto) and cfn-lint into .venv"
  command -v python3 >/dev/null || die "python3 is needed for the local AWS endpoint"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r local/moto/requirements.txt
  cp local/moto/requirements.txt "$stamp"
}

# .venv-tools: the SAM CLI and cargo-lambda (with zig), pinned in
# scripts/lib/tools-requirements.txt. SAM's telemetry stays off: nothing
# here may reach the internet.
TOOLS="$ROOT/.venv-tools"
export SAM_CLI_TELEMETRY=0
ensure_tools() {
  local stamp="$TOOLS/.requirements.txt"
  if [ -x "$TOOLS/bin/sam" ] && cmp -s scripts/lib/tools-requirements.txt "$stamp"; then
    return
  fi
  say "installing the SAM CLI and cargo-lambda into .venv-tools"
  python3 -m venv "$TOOLS" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$TOOLS/bin/pip" install --quiet --disable-pip-version-check -r scripts/lib/tools-requirements.txt
  cp scripts/lib/tools-requirements.txt "$stamp"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() {
  python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(0.3); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1])))==0 else 1)' "$1"
}

# Starts the serialised, patched moto server on 127.0.0.1:$1 in the
# background; sets MOTO_PID and AWS_ENDPOINT_URL. Its log goes to $2.
start_aws_endpoint() {
  local port=$1 log=$2
  if port_open "$port"; then
    die "port $port is already in use (another scripts/dev?); set EVENTLY_AWS_PORT to choose another"
  fi
  (cd local/moto && exec "$VENV/bin/python" server.py --port "$port") >"$log" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    port_open "$port" && return 0
    kill -0 "$MOTO_PID" 2>/dev/null || { cat "$log" >&2; die "the local AWS endpoint did not start"; }
    sleep 0.1
  done
  die "the local AWS endpoint did not open port $port within 10 s"
}

stop_pid() {
  local pid=${1:-}
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# newman, for the Postman collection, into .local/ (gitignored).
NEWMAN="$ROOT/.local/newman/node_modules/.bin/newman"
ensure_newman() {
  [ -x "$NEWMAN" ] && return
  command -v npm >/dev/null || die "npm is needed for newman (apt-get install nodejs npm)"
  say "installing newman into .local/newman"
  npm install --prefix "$ROOT/.local/newman" --no-audit --no-fund --silent newman@6 >/dev/null
}

# mermaid (the diagram parser GitHub uses) and jsdom for it, to check the
# diagrams in docs/.
MERMAID_MODULES="$ROOT/.local/mermaid/node_modules"
ensure_mermaid() {
  [ -d "$MERMAID_MODULES/mermaid" ] && [ -d "$MERMAID_MODULES/jsdom" ] && return
  command -v npm >/dev/null || die "npm is needed for the diagram check (apt-get install nodejs npm)"
  say "installing mermaid and jsdom into .local/mermaid"
  npm install --prefix "$ROOT/.local/mermaid" --no-audit --no-fund --silent mermaid@11 jsdom@24 >/dev/null
}

# The web app (web/): its npm packages (from web/package-lock.json) and
# its build (web/dist), redone when a source is newer than the build.
ensure_web() {
  command -v npm >/dev/null || die "npm is needed for the web app (apt-get install nodejs npm)"
  if [ ! -d web/node_modules ] || ! cmp -s web/package-lock.json web/node_modules/.package-lock.stamp; then
    say "installing the web app's packages into web/node_modules"
    (cd web && npm ci --no-audit --no-fund --silent >/dev/null)
    cp web/package-lock.json web/node_modules/.package-lock.stamp
  fi
  if [ ! -f web/dist/index.html ] || [ -n "$(find web/src web/public web/build.mjs -newer web/dist/index.html -print -quit)" ]; then
    say "building the web app (web/dist)"
    (cd web && node build.mjs)
  fi
}

# Debian's Chromium, for checking what a person sees of /_dev/mailbox.
ensure_chromium() {
  command -v chromium >/dev/null && return
  command -v apt-get >/dev/null || die "chromium is needed (install it with your package manager)"
  say "installing chromium (Debian package)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# Headless Chromium with the flags this machine needs (no sandbox as root,
# no background network traffic), and a throwaway profile.
chromium_headless() {
  local profile
  profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" "$@" 2>/dev/null
  rm -rf "$profile"
}
