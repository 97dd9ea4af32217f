#!/usr/bin/env bash
# meta-test.sh: META.json is a valid PGXN Meta Spec v1.0.0 document and
# agrees with the rest of the release (pool_observer.control, the SQL
# scripts, debian/changelog, CHANGELOG.md, LICENSE).
#
# Exit 0 pass, 77 skip (no python3), anything else fail.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is not installed"
	exit 77
fi

exec python3 - "$root" <<'PY'
import json
import os
import re
import sys

root = sys.argv[1]
errors = []
checks = 0


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        errors.append(msg)
    return cond


def is_str(v):
    return isinstance(v, str) and v.strip() != ""


# SemVer 1.0.0, as the PGXN Meta Spec requires: X.Y.Z, no leading zeros,
# an optional pre-release suffix starting with a letter (1.0.0beta1).
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
                    r"([A-Za-z][0-9A-Za-z-]*)?$")
VERSION_RANGE_ITEM = re.compile(r"^\s*(==|!=|>=|<=|>|<)?\s*(\S+)\s*$")

LICENSES = {
    "agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd",
    "freebsd", "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3",
    "lgpl_2_1", "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1", "openssl",
    "perl_5", "postgresql", "qpl_1_0", "ssleay", "sun", "zlib",
    "open_source", "restricted", "unrestricted", "unknown",
}
TOP_KEYS = {
    "name", "abstract", "description", "version", "maintainer", "license",
    "provides", "prereqs", "resources", "generated_by", "meta-spec", "tags",
    "no_index", "release_status",
}
REQUIRED = ["name", "abstract", "maintainer", "license", "provides",
            "version", "meta-spec"]


def custom(key):
    return key.startswith("x_") or key.startswith("X_")


def version_range_ok(v):
    if v == 0 or v == "0":
        return True
    if not isinstance(v, str):
        return False
    for item in v.split(","):
        m = VERSION_RANGE_ITEM.match(item)
        if not m or not (SEMVER.match(m.group(2)) or m.group(2) == "0"):
            return False
    return True


path = os.path.join(root, "META.json")
try:
    with open(path, encoding="utf-8") as f:
        meta = json.load(f)
except (OSError, ValueError) as e:
    print(f"FAIL: META.json: {e}")
    sys.exit(1)

check(isinstance(meta, dict), "META.json: top level must be an object")

# Required keys and known keys.
for key in REQUIRED:
    check(key in meta, f"missing required key {key!r}")
for key in meta:
    check(key in TOP_KEYS or custom(key),
          f"unknown top-level key {key!r} (custom keys start with x_)")

name = meta.get("name")
check(is_str(name) and len(name) >= 2
      and not re.search(r"[\s/\\\x00-\x1f]", name),
      f"name {name!r} must be 2+ characters without whitespace or slashes")
check(name == "pool_observer", f"name is {name!r}, not 'pool_observer'")
check(is_str(meta.get("abstract")), "abstract must be a non-empty string")
if "description" in meta:
    check(is_str(meta["description"]), "description must be a string")

version = meta.get("version")
check(isinstance(version, str) and SEMVER.match(version),
      f"version {version!r} is not a semantic version (X.Y.Z)")

maint = meta.get("maintainer")
check(is_str(maint) or (isinstance(maint, list) and maint
                        and all(is_str(m) for m in maint)),
      "maintainer must be a string or a non-empty list of strings")

lic = meta.get("license")
if isinstance(lic, str):
    check(lic in LICENSES, f"license {lic!r} is not a known PGXN license")
elif isinstance(lic, list):
    check(lic and all(l in LICENSES for l in lic),
          f"license list {lic!r} has unknown entries")
elif isinstance(lic, dict):
    check(lic and all(is_str(v) for v in lic.values()),
          "license object must map names to URLs")
else:
    check(False, "license must be a string, list or object")

ms = meta.get("meta-spec")
if check(isinstance(ms, dict), "meta-spec must be an object"):
    check(ms.get("version") == "1.0.0",
          f"meta-spec.version is {ms.get('version')!r}, expected '1.0.0'")
    if "url" in ms:
        check(is_str(ms["url"]), "meta-spec.url must be a string")

provides = meta.get("provides")
if check(isinstance(provides, dict) and provides,
         "provides must be a non-empty object"):
    check("pool_observer" in provides,
          "provides has no 'pool_observer' extension")
    for ext, info in provides.items():
        if custom(ext):
            continue
        if not check(isinstance(info, dict), f"provides.{ext} must be an object"):
            continue
        for key in info:
            check(key in {"file", "version", "abstract", "docfile"}
                  or custom(key), f"provides.{ext}: unknown key {key!r}")
        check(is_str(info.get("file")), f"provides.{ext}.file is required")
        v = info.get("version")
        check(isinstance(v, str) and SEMVER.match(v),
              f"provides.{ext}.version {v!r} is not a semantic version")
        check(v == version,
              f"provides.{ext}.version {v!r} differs from version {version!r}")
        for key in ("file", "docfile"):
            if is_str(info.get(key)):
                check(os.path.isfile(os.path.join(root, info[key])),
                      f"provides.{ext}.{key}: {info[key]} does not exist")
        if "abstract" in info:
            check(is_str(info["abstract"]),
                  f"provides.{ext}.abstract must be a string")

prereqs = meta.get("prereqs", {})
if check(isinstance(prereqs, dict), "prereqs must be an object"):
    for phase, rels in prereqs.items():
        if custom(phase):
            continue
        check(phase in {"configure", "build", "test", "runtime", "develop"},
              f"prereqs: unknown phase {phase!r}")
        if not check(isinstance(rels, dict), f"prereqs.{phase} must be an object"):
            continue
        for rel, reqs in rels.items():
            if custom(rel):
                continue
            check(rel in {"requires", "recommends", "suggests", "conflicts"},
                  f"prereqs.{phase}: unknown relationship {rel!r}")
            if not check(isinstance(reqs, dict),
                         f"prereqs.{phase}.{rel} must be an object"):
                continue
            for dep, ver in reqs.items():
                check(version_range_ok(ver),
                      f"prereqs.{phase}.{rel}.{dep}: bad version {ver!r}")
    pg = prereqs.get("runtime", {}).get("requires", {}).get("PostgreSQL")
    check(pg == "15.0.0",
          f"prereqs.runtime.requires.PostgreSQL is {pg!r}, expected '15.0.0'")

res = meta.get("resources", {})
if check(isinstance(res, dict), "resources must be an object"):
    for key, val in res.items():
        if custom(key):
            continue
        if key == "homepage":
            check(is_str(val), "resources.homepage must be a URL string")
        elif key == "bugtracker":
            check(isinstance(val, dict) and val
                  and all(k in {"web", "mailto"} or custom(k) for k in val),
                  "resources.bugtracker takes web and mailto")
        elif key == "repository":
            check(isinstance(val, dict) and val
                  and all(k in {"url", "web", "type"} or custom(k)
                          for k in val),
                  "resources.repository takes url, web and type")
        else:
            check(False, f"resources: unknown key {key!r}")

if "tags" in meta:
    tags = meta["tags"]
    check(isinstance(tags, list) and tags
          and all(is_str(t) and len(t) <= 255 for t in tags),
          "tags must be a non-empty list of strings of at most 255 characters")
if "release_status" in meta:
    check(meta["release_status"] in {"stable", "testing", "unstable"},
          f"release_status {meta['release_status']!r} is not "
          "stable, testing or unstable")
if "generated_by" in meta:
    check(is_str(meta["generated_by"]), "generated_by must be a string")
if "no_index" in meta:
    check(isinstance(meta["no_index"], dict), "no_index must be an object")

# Agreement with the rest of the tree.  The SQL extension version is
# MAJOR.MINOR of the release version (1.0 for 1.0.0, 1.0.1, ...).
control = os.path.join(root, "pool_observer.control")
default_version = None
try:
    with open(control, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*default_version\s*=\s*'([^']+)'", line)
            if m:
                default_version = m.group(1)
except OSError as e:
    check(False, f"pool_observer.control: {e}")
if check(default_version is not None, "no default_version in pool_observer.control") \
        and isinstance(version, str) and SEMVER.match(version):
    major, minor, patch = SEMVER.match(version).group(1, 2, 3)
    dv = default_version.split(".")
    if len(dv) == 3:
        check(default_version == f"{major}.{minor}.{patch}",
              f"version {version} does not match default_version {default_version}")
    else:
        check(default_version == f"{major}.{minor}",
              f"version {version} (SQL version {major}.{minor}) does not match "
              f"default_version {default_version} in pool_observer.control")
    check(os.path.isfile(os.path.join(root, f"pool_observer--{default_version}.sql"))
          or any(re.fullmatch(rf"pool_observer--.+--{re.escape(default_version)}\.sql", f)
                 for f in os.listdir(root)),
          f"no install or update script for default_version {default_version}")

check(os.path.isfile(os.path.join(root, "LICENSE")), "LICENSE does not exist")

deb_changelog = os.path.join(root, "debian", "changelog")
if os.path.isfile(deb_changelog):
    with open(deb_changelog, encoding="utf-8") as f:
        first = f.readline()
    m = re.match(r"^\S+ \(([^)]+)\)", first)
    if check(m, "debian/changelog: cannot parse the first line"):
        upstream = re.sub(r"-[^-]+$", "", m.group(1))
        upstream = re.sub(r"^\d+:", "", upstream)
        check(upstream == version,
              f"debian/changelog version {m.group(1)} does not package {version}")

changelog_md = os.path.join(root, "CHANGELOG.md")
if os.path.isfile(changelog_md):
    with open(changelog_md, encoding="utf-8") as f:
        text = f.read()
    check(re.search(rf"^##\s*\[?{re.escape(str(version))}\]?(\s|$)", text, re.M),
          f"CHANGELOG.md has no '## {version}' section")

if errors:
    for e in errors:
        print(f"FAIL: META.json: {e}")
    print(f"{checks - len(errors)} passed, {len(errors)} failed")
    sys.exit(1)
print(f"META.json: PGXN Meta Spec 1.0.0 document for {name} {version} "
      f"(default_version {default_version})")
print(f"{checks} passed, 0 failed")
PY
