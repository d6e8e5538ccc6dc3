# shellcheck shell=bash
# Sourced, not run. Defines gestalt_find_jdk [MIN]: prints the JAVA_HOME of a
# JDK (java and javac) whose feature version is >= MIN (default 25) and returns
# 0; otherwise prints a one-line reason on stderr and returns 1.
# Order: $JAVA_HOME, then `java` on PATH, then the newest /usr/lib/jvm/*.
# Used by scripts/test and the ./gestalt launcher.

# _gestalt_jdk_version HOME: prints the JDK's full version ("25.0.3", "1.8.0_402").
_gestalt_jdk_version() {
  local home=$1 v=''
  [[ -x $home/bin/java && -x $home/bin/javac ]] || return 1
  if [[ -r $home/release ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release")
  fi
  if [[ -z $v ]]; then
    v=$("$home/bin/java" -version 2>&1 | sed -n '1s/^[^"]*"\([^"]*\)".*/\1/p')
  fi
  [[ -n $v ]] && printf '%s\n' "$v"
}

# _gestalt_jdk_feature VERSION: prints the feature number (8 for 1.8.0_x, 25 for 25.0.3).
_gestalt_jdk_feature() {
  local v=$1
  [[ $v == 1.* ]] && v=${v#1.}
  v=${v%%[!0-9]*}
  printf '%s\n' "${v:-0}"
}

gestalt_find_jdk() {
  local min=${1:-25} home v java tried=() best='' best_v='' c
  # 1. JAVA_HOME
  if [[ -n ${JAVA_HOME:-} ]]; then
    if v=$(_gestalt_jdk_version "$JAVA_HOME") && (( $(_gestalt_jdk_feature "$v") >= min )); then
      printf '%s\n' "$JAVA_HOME"; return 0
    fi
    tried+=("JAVA_HOME=$JAVA_HOME (${v:-no JDK})")
  fi
  # 2. java on PATH (a symlink chain such as /usr/bin/java -> /etc/alternatives/java)
  if java=$(command -v java 2>/dev/null); then
    home=$(dirname "$(dirname "$(readlink -f "$java")")")
    v=''
    if v=$(_gestalt_jdk_version "$home") && (( $(_gestalt_jdk_feature "$v") >= min )); then
      printf '%s\n' "$home"; return 0
    fi
    tried+=("java on PATH in $home (${v:-no JDK})")
  fi
  # 3. the newest JDK under /usr/lib/jvm (symlinked names are the same JDK)
  for c in /usr/lib/jvm/*; do
    [[ -d $c ]] || continue
    home=$(readlink -f "$c")
    v=$(_gestalt_jdk_version "$home") || continue
    (( $(_gestalt_jdk_feature "$v") >= min )) || continue
    if [[ -z $best || $(printf '%s\n' "$best_v" "$v" | sort -V | tail -n1) != "$best_v" ]]; then
      best=$home best_v=$v
    fi
  done
  if [[ -n $best ]]; then printf '%s\n' "$best"; return 0; fi
  tried+=("no JDK >= $min in /usr/lib/jvm")
  local why='' t
  for t in "${tried[@]}"; do why+="${why:+; }$t"; done
  echo "gestalt: no JDK $min or newer found (tried: $why); install one or set JAVA_HOME" >&2
  return 1
}
