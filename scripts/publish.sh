#!/usr/bin/env bash
# Prepares release VERSION of fraiseql-wire-derive and fraiseql-wire: bumps both crates' version (one place, the
# root Cargo.toml), dates the changelog's Unreleased section, runs the checks, commits and tags vVERSION. Pushing
# the tag starts .github/workflows/release.yml, which publishes.
#
#   scripts/publish.sh 0.2.0
#   git push origin main v0.2.0
#
# Idempotent: a run that failed half-way (in the checks, say) can be run again with the same VERSION; what is
# already done (the bump, the changelog heading, the commit, the tag) is not done twice.
#
# PUBLISH_CHECKS=full (default) runs fmt, clippy, the test suite and `cargo publish --dry-run` of both crates;
# `quick` skips the test suite; `none` skips every check (for testing this script).
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
    echo "publish.sh: $*" >&2
    exit 1
}

version=${1:-}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
    die "usage: scripts/publish.sh VERSION, a semantic version such as 0.2.0 (got '${version}')"
tag="v$version"
checks=${PUBLISH_CHECKS:-full}

[ "$(git rev-parse --abbrev-ref HEAD)" = main ] || die "releases are made from main; check it out first"

if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
    [ "$(git rev-list -n 1 "$tag")" = "$(git rev-parse HEAD)" ] ||
        die "tag $tag already exists on another commit; pick another version"
    echo "publish.sh: $tag is already made on HEAD; push it with: git push origin main $tag"
    exit 0
fi

# The version of both crates, from [workspace.package].
current=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$current" ] || die "no version in [workspace.package] of Cargo.toml"

# A clean tree, or one holding only this same bump from an earlier run.
changes=$(git status --porcelain)
if [ -n "$changes" ]; then
    others=$(printf '%s\n' "$changes" | grep -vE '^ M (Cargo\.toml|Cargo\.lock|CHANGELOG\.md)$' || true)
    if [ "$current" != "$version" ] || [ -n "$others" ]; then
        die "the working tree has uncommitted changes; commit or stash them first:
$changes"
    fi
    echo "publish.sh: resuming the release of $version"
fi

if [ "$current" != "$version" ]; then
    # The package version, and the versions the two crates require of each other (the derive pinned with `=`).
    sed -i \
        -e "/^\[workspace\.package\]/,/^\[/s/^version = \".*\"$/version = \"$version\"/" \
        -e "s/^\(fraiseql-wire = {.*version = \"\)[^\"]*\"/\1$version\"/" \
        -e "s/^\(fraiseql-wire-derive = {.*version = \"=\)[^\"]*\"/\1$version\"/" \
        Cargo.toml
    echo "publish.sh: version $current -> $version"
fi

if ! grep -q "^## \[$version\]" CHANGELOG.md; then
    grep -q '^## \[Unreleased\]$' CHANGELOG.md || die "CHANGELOG.md has no '## [Unreleased]' section"
    today=$(date -u +%Y-%m-%d)
    repository=$(sed -n 's/^repository = "\(.*\)"$/\1/p' Cargo.toml)
    sed -i \
        -e "s/^## \[Unreleased\]$/## [Unreleased]\n\n## [$version] - $today/" \
        -e "s#^\[Unreleased\]: .*#[Unreleased]: $repository/compare/$tag...HEAD\n[$version]: $repository/releases/tag/$tag#" \
        CHANGELOG.md
    echo "publish.sh: CHANGELOG.md heading $version - $today"
fi

# Cargo.lock follows the new version of the workspace's own crates.
cargo update --workspace --quiet

case "$checks" in
    full | quick)
        cargo fmt --all --check
        cargo clippy --workspace --all-targets -- -D warnings
        if [ "$checks" = full ]; then
            cargo test --workspace
        fi
        # Both crates packaged and built from their packages, the client against the packaged derive; a publish dry
        # run of both at once would wait for the derive to appear on crates.io.
        cargo package --allow-dirty -p fraiseql-wire-derive -p fraiseql-wire
        cargo publish --dry-run --allow-dirty -p fraiseql-wire-derive
        ;;
    none) echo "publish.sh: PUBLISH_CHECKS=none, no checks" ;;
    *) die "PUBLISH_CHECKS must be full, quick or none (got '$checks')" ;;
esac

if [ -n "$(git status --porcelain)" ]; then
    git commit --quiet -am "Release $version"
fi
git tag -a "$tag" -m "fraiseql-wire $version"
echo "publish.sh: committed and tagged $tag; push with: git push origin main $tag"
