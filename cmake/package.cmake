# cmake/package.cmake — the Debian package: `cpack -G DEB` in a build
# folder makes flatline_VERSION_ARCH.deb (included at the end of the
# top-level CMakeLists.txt), and registers its test (tests/package.sh).
#
# What the package holds, beyond what `cmake --install` installs (the
# binaries and man pages, component "Unspecified"):
#   - the systemd units and the sysusers.d entry, in the folders that
#     `pkg-config systemd` names (Debian 12: /lib/systemd/system,
#     /usr/lib/systemd/user, /usr/lib/sysusers.d), ExecStart=/usr/sbin/...;
#   - /etc/flatline/flatlined.conf, every setting commented (a conffile);
#   - bash completion for flatline, where `pkg-config bash-completion` says;
#   - README, the spec reference and the examples in /usr/share/doc/flatline;
#   - maintainer scripts (packaging/deb/): accounts, enabling the socket,
#     stopping on removal, removing the state on purge.
# These rules are the component "deb", left out of a plain `cmake
# --install` (EXCLUDE_FROM_ALL), and the package leaves out the component
# "systemd" (cmake/systemd.cmake's prefix-relative copies of the units):
# a source install keeps its own layout, the package gets Debian's.
set(FL_PKG_PREFIX /usr)
set(FL_PKG_SRC ${PROJECT_SOURCE_DIR}/packaging)
set(FL_PKG_GEN ${PROJECT_BINARY_DIR}/package)

# A folder from a pkg-config variable, or the fallback when the .pc file
# (or the variable) is missing. A value relative to the .pc's own prefix
# cannot occur for these modules: both write absolute paths.
function(fl_pkg_dir out module variable fallback)
  pkg_get_variable(dir ${module} ${variable})
  if(NOT dir OR NOT IS_ABSOLUTE "${dir}")
    set(dir ${fallback})
  endif()
  set(${out} ${dir} PARENT_SCOPE)
endfunction()
# The fallbacks are where systemd and bash-completion look on every
# merged-/usr system (Debian 12 included), whatever their .pc files say.
fl_pkg_dir(FL_PKG_SYSTEM_UNIT_DIR systemd systemdsystemunitdir /usr/lib/systemd/system)
fl_pkg_dir(FL_PKG_USER_UNIT_DIR systemd systemduserunitdir /usr/lib/systemd/user)
fl_pkg_dir(FL_PKG_SYSUSERS_DIR systemd sysusersdir /usr/lib/sysusers.d)
fl_pkg_dir(FL_PKG_BASH_COMPLETION_DIR bash-completion completionsdir
           /usr/share/bash-completion/completions)

# The units with ExecStart= of the package's prefix: known now, unlike a
# `cmake --install --prefix` (which is why systemd.cmake fills them in at
# install time).
set(FL_SBINDIR ${FL_PKG_PREFIX}/sbin)
configure_file(${FL_SYSTEMD_SRC}/flatlined.service ${FL_PKG_GEN}/system/flatlined.service @ONLY)
configure_file(${FL_SYSTEMD_SRC}/user/flatlined.service ${FL_PKG_GEN}/user/flatlined.service @ONLY)
unset(FL_SBINDIR)

install(FILES ${FL_SYSTEMD_SRC}/flatlined.socket ${FL_PKG_GEN}/system/flatlined.service
        DESTINATION ${FL_PKG_SYSTEM_UNIT_DIR} COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${FL_SYSTEMD_SRC}/user/flatlined.socket ${FL_PKG_GEN}/user/flatlined.service
        DESTINATION ${FL_PKG_USER_UNIT_DIR} COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${FL_SYSTEMD_SRC}/flatline.sysusers.conf DESTINATION ${FL_PKG_SYSUSERS_DIR}
        RENAME flatline.conf COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${FL_PKG_SRC}/flatlined.conf DESTINATION /etc/flatline
        COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${FL_PKG_SRC}/flatline.bash-completion DESTINATION ${FL_PKG_BASH_COMPLETION_DIR}
        RENAME flatline COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/spec.md
              ${PROJECT_SOURCE_DIR}/docs/model-format.md
        DESTINATION ${FL_PKG_PREFIX}/share/doc/flatline COMPONENT deb EXCLUDE_FROM_ALL)
# systemd/README.md is the admin's guide; under its own name there.
install(FILES ${PROJECT_SOURCE_DIR}/systemd/README.md
        DESTINATION ${FL_PKG_PREFIX}/share/doc/flatline RENAME README.systemd.md
        COMPONENT deb EXCLUDE_FROM_ALL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/
        DESTINATION ${FL_PKG_PREFIX}/share/doc/flatline/examples
        COMPONENT deb EXCLUDE_FROM_ALL
        PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE)

# --- CPack ----------------------------------------------------------------
set(CPACK_PACKAGE_NAME flatline)
set(CPACK_PACKAGE_VENDOR "flatline")
set(CPACK_PACKAGE_CONTACT "flatline maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "training service for classifiers on OpenCL that explains flat losses")
set(CPACK_PACKAGE_DESCRIPTION
    "flatlined owns the machine's OpenCL devices (GPUs, or the CPU through
POCL), queues the jobs of a shared workstation's users, trains dense
classifiers, and diagnoses why a loss stays flat, with measured evidence.
flatline is its command-line client. Includes systemd units (socket
activation, sandboxed), a sysusers.d entry, man pages and examples.")
# /etc/flatline and the unit folders are absolute: install under DESTDIR
# (the staging folder), never into this machine's real /etc. With DESTDIR,
# CPack installs to CPACK_INSTALL_PREFIX (else the build's own prefix,
# /usr/local by default).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX ${FL_PKG_PREFIX})
set(CPACK_PACKAGING_INSTALL_PREFIX ${FL_PKG_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
# One package from two components: what `cmake --install` installs
# (binaries, man pages) and the Debian-only files above; not "systemd".
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified deb)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost/flatline")
# Runtime libraries from the binaries themselves (dpkg-shlibdeps, in
# dpkg-dev): libuv1, libcjson1, libclblast1, ocl-icd-libopencl1, libssl3,
# zlib1g, libc6, with the versions the build saw. Listed by hand besides:
# procps for /bin/kill (ExecReload=), and systemd's sysusers for the
# accounts the units run as (postinst).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "procps, systemd | systemd-standalone-sysusers")
# An OpenCL driver (ICD) is needed to train, but which one is the
# machine's: a GPU workstation has its vendor's (nvidia-opencl-icd,
# mesa-opencl-icd, intel-opencl-icd, rocm), all of which provide
# opencl-icd; POCL (the CPU) is the fallback. Recommends, not Depends: apt
# installs POCL only when no other ICD is there, and a GPU-only machine
# may remove it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pocl-opencl-icd | opencl-icd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "clinfo")
configure_file(${FL_PKG_SRC}/deb/conffiles ${FL_PKG_GEN}/deb/conffiles COPYONLY)
foreach(script postinst prerm postrm)
  configure_file(${FL_PKG_SRC}/deb/${script} ${FL_PKG_GEN}/deb/${script} COPYONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${FL_PKG_GEN}/deb/conffiles ${FL_PKG_GEN}/deb/postinst
    ${FL_PKG_GEN}/deb/prerm ${FL_PKG_GEN}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

# --- the package test ------------------------------------------------------
# Builds the package, installs it into this machine (dpkg -i), checks and
# runs it, purges it: tests/package.sh. Root only (it skips otherwise);
# alone (RUN_SERIAL: it adds a system user and files in /etc). Not in the
# sanitizer or fuzzing builds: a package of instrumented binaries is not
# the one people install, and CI runs this once, in the plain pass.
if(FL_BUILD_TESTS AND NOT FL_SANITIZE AND NOT FL_FUZZ AND TARGET flatline)
  add_test(NAME package
           COMMAND ${PROJECT_SOURCE_DIR}/tests/package.sh ${PROJECT_BINARY_DIR}
                   ${CMAKE_CPACK_COMMAND})
  set_tests_properties(package PROPERTIES LABELS package TIMEOUT 600
                       SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
endif()
