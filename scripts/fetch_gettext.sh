#!/usr/bin/env bash
# Downloads Debian packages that ship gettext catalogues (.mo) with ja,
# zh_CN, zh_TW and fr translations, and unpacks them under $OUT/root.
# The raw parallel text stays outside the repository; only the lexicon
# learned from it (data/lexicon.tsv.gz) is shipped.
#   usage: scripts/fetch_gettext.sh [OUT]   (default /work/parallel)
set -u
OUT=${1:-/work/parallel}
mkdir -p "$OUT/debs" "$OUT/root"
cd "$OUT/debs" || exit 2
PKGS=(
  coreutils tar grep sed findutils diffutils gawk bash gettext wget gnupg-l10n
  util-linux-locales apt dpkg debconf-i18n aptitude-common e2fsprogs-l10n
  libc-l10n parted gparted synaptic
  nautilus-data gedit-common evince-common gnome-control-center-data
  gnome-shell-common libgtk-3-common libgtk2.0-common libglib2.0-data
  gnome-software-common file-roller totem-common rhythmbox-data
  evolution-data-server-common evolution-common shotwell-common
  eog gnome-terminal-data gnome-system-monitor gnome-disk-utility
  gimp-data gimp inkscape vlc-l10n
  thunar-data xfce4-panel libxfce4ui-common xfce4-settings mousepad ristretto
  xfce4-terminal xfce4-session xfdesktop4-data
  transmission-common pidgin-data hexchat-common
  network-manager gnome-calculator gnome-calendar baobab
  cinnamon-l10n mate-desktop-common caja-common pluma-common
  kdelibs-data gnumeric-common abiword-common geany-common
  orca libgweather-4-common gnome-maps gnome-weather poppler-data
  ibus cups-common system-config-printer-common
  libreoffice-l10n-ja libreoffice-l10n-fr libreoffice-l10n-zh-cn libreoffice-l10n-zh-tw
)
for p in "${PKGS[@]}"; do
  apt-get download "$p" >/dev/null 2>&1 || echo "not available: $p" >&2
done
for d in *.deb; do dpkg-deb -x "$d" "$OUT/root" 2>/dev/null || echo "bad deb: $d" >&2; done
find "$OUT/root" -name '*.mo' | wc -l
