# SPDX-License-Identifier: GPL-2.0
# What the bench's guest scripts share; sourced after S (the mdev devices'
# sysfs directory) is set.  Each script defines its own die(), whose message
# names it.

# knob UUID NAME [VALUE]: set a device's knob (die() if refused), or print it.
knob() {
	if [ $# -eq 3 ]; then
		echo "$3" > "$S/$1/vfmig/$2" || die "cannot set $2=$3 on $1"
	else
		IFS= read -r v < "$S/$1/vfmig/$2" && echo "$v"
	fi
}

# median [NONE]: the median of the numbers on stdin (separated by spaces,
# commas or newlines; the lower middle one of an even count), NONE (default
# "-") when there is none.
median() {
	tr ', ' '\n\n' | grep . | sort -n |
		awk -v none="${1:--}" '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : none }'
}

# json_num FILE KEY: the number after "KEY": in a one-line JSON object.
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1"; }
