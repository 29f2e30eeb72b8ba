#!/usr/bin/env bash
# The Dockerfile cannot be built here (no container runtime); this checks what can be
# checked without one: its build stage installs every library package that
# hack/install-deps.sh installs, and each shared library that a locally built canaryd
# links (ldd) comes from a package its runtime stage installs (or the base image's libc).
#   dockerfile_test.sh <canaryd> <source dir>
set -euo pipefail
canaryd=$1
src=$2
python3 - "$src/Dockerfile" "$src/hack/install-deps.sh" "$canaryd" <<'PY'
import re, subprocess, sys

dockerfile, deps, binary = sys.argv[1:4]
text = open(dockerfile).read()
stages = re.split(r"^FROM ", text, flags=re.M)[1:]
if len(stages) != 2:
    sys.exit(f"expected two stages (build, run), found {len(stages)}")
build, run = stages

def installed(stage):
    # The words of the stage's `apt-get install` commands (to the next `&&`).
    out = set()
    for m in re.finditer(r"apt-get install(.*?)&&", stage, re.S):
        out.update(re.split(r"[\s\\]+", m.group(1)))
    return out

libraries = re.search(r"# libraries\n(.*?)\n\s*#", open(deps).read(), re.S).group(1).split()
missing = [p for p in libraries if p not in installed(build)]
if missing:
    sys.exit("the build stage lacks " + " ".join(missing) + " (hack/install-deps.sh installs them)")
print(f"ok: the build stage installs the {len(libraries)} library packages of hack/install-deps.sh")

# Each shared library canaryd links: which Debian package ships it here.
runtime = installed(run)
base = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}  # in debian:bookworm-slim
failed = []
ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
for line in ldd.splitlines():
    m = re.match(r"\s*(\S+) => (\S+)", line)
    if not m or "libasan" in m.group(1) or "libubsan" in m.group(1):
        continue  # a sanitizer build's runtime is not the Release image's
    owner = subprocess.run(["dpkg", "-S", m.group(2)], capture_output=True, text=True)
    if owner.returncode != 0:
        # A path through a symlink (/lib -> /usr/lib): ask for the other spelling.
        path = m.group(2)
        if path.startswith("/usr/lib/"):
            alt = path.replace("/usr/lib/", "/lib/", 1)
        else:
            alt = "/usr" + path
        owner = subprocess.run(["dpkg", "-S", alt], capture_output=True, text=True)
    package = owner.stdout.split(":")[0] if owner.returncode == 0 else "?"
    if package not in runtime and package not in base:
        failed.append(f"{m.group(1)} (package {package})")
if failed:
    sys.exit("the runtime stage lacks the packages of: " + ", ".join(failed))
print("ok: the runtime stage installs the package of every shared library canaryd links")

if not re.search(r"^USER 65532(:65532)?$", run, re.M):
    sys.exit("the runtime stage does not run as USER 65532")
print("ok: runs as USER 65532")
PY
for dir in build/ tools/ .git; do
  grep -qx "$dir" "$src/.dockerignore" || {
    echo "FAIL: .dockerignore does not exclude $dir"
    exit 1
  }
done
echo "ok: .dockerignore excludes build/, tools/ and .git"
echo "dockerfile_test: 4 passed, 0 failed"
