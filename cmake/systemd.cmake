# cmake/systemd.cmake — install rules for the systemd units, the sysusers.d
# entry and the man pages (included from the top-level CMakeLists.txt).
#
# The service units are templates: ExecStart=@FL_SBINDIR@/flatlined. They
# are filled in at install time, not at configure time, so that
# `cmake --install build --prefix /opt/x` gets ExecStart=/opt/x/sbin/flatlined
# as well as the configured CMAKE_INSTALL_PREFIX does. DESTDIR is not part of
# the path written into the unit (staged installs for packages work).
#
# The unit folders are relative to the prefix by default: systemd searches
# /usr/lib/systemd/{system,user} and /usr/local/lib/systemd/{system,user}
# (and /usr{,/local}/lib/sysusers.d), so prefix /usr and /usr/local just
# work; packagers with another layout set these cache variables.
set(FL_SYSTEMD_SYSTEM_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where system units go (relative to the prefix, or absolute)")
set(FL_SYSTEMD_USER_UNIT_DIR "lib/systemd/user" CACHE STRING
    "Where user units go (relative to the prefix, or absolute)")
set(FL_SYSUSERS_DIR "lib/sysusers.d" CACHE STRING
    "Where the sysusers.d entry goes (relative to the prefix, or absolute)")
# The units and the sysusers entry are the install component "systemd":
# `cmake --install` installs it like everything else, and the Debian package
# (cmake/package.cmake) leaves it out for copies in Debian's own folders.
# Must match the destination of install(TARGETS flatlined ...).
set(FL_SBIN_SUBDIR "sbin")

set(FL_SYSTEMD_SRC ${PROJECT_SOURCE_DIR}/systemd)
set(FL_SYSTEMD_GEN ${PROJECT_BINARY_DIR}/systemd-install)

# Runs inside cmake_install.cmake, where CMAKE_INSTALL_PREFIX is already the
# --prefix given to `cmake --install`, if any.
install(CODE "
  set(FL_SBINDIR \"\${CMAKE_INSTALL_PREFIX}/${FL_SBIN_SUBDIR}\")
  configure_file(\"${FL_SYSTEMD_SRC}/flatlined.service\"
                 \"${FL_SYSTEMD_GEN}/system/flatlined.service\" @ONLY)
  configure_file(\"${FL_SYSTEMD_SRC}/user/flatlined.service\"
                 \"${FL_SYSTEMD_GEN}/user/flatlined.service\" @ONLY)
" COMPONENT systemd)
install(FILES ${FL_SYSTEMD_SRC}/flatlined.socket
              ${FL_SYSTEMD_GEN}/system/flatlined.service
        DESTINATION ${FL_SYSTEMD_SYSTEM_UNIT_DIR} COMPONENT systemd)
install(FILES ${FL_SYSTEMD_SRC}/user/flatlined.socket
              ${FL_SYSTEMD_GEN}/user/flatlined.service
        DESTINATION ${FL_SYSTEMD_USER_UNIT_DIR} COMPONENT systemd)
install(FILES ${FL_SYSTEMD_SRC}/flatline.sysusers.conf
        DESTINATION ${FL_SYSUSERS_DIR} RENAME flatline.conf COMPONENT systemd)

# The man pages are written separately; OPTIONAL checks at install time
# (rather than if(EXISTS) at configure time), so a page added later is
# installed without re-running cmake.
install(FILES ${PROJECT_SOURCE_DIR}/docs/flatline.1
        DESTINATION share/man/man1 OPTIONAL)
install(FILES ${PROJECT_SOURCE_DIR}/docs/flatlined.8
        DESTINATION share/man/man8 OPTIONAL)
