include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(HYENA_CMAKE_DIR "${CMAKE_INSTALL_DATADIR}/cmake/hyena")

install(TARGETS hyena EXPORT hyenaTargets)
install(DIRECTORY include/hyena DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT hyenaTargets NAMESPACE hyena:: DESTINATION "${HYENA_CMAKE_DIR}")
# A build-tree export too, so a consumer can point hyena_DIR at a build folder.
export(EXPORT hyenaTargets NAMESPACE hyena::
       FILE "${CMAKE_CURRENT_BINARY_DIR}/hyenaTargets.cmake")

configure_package_config_file(cmake/hyenaConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/hyenaConfig.cmake"
  INSTALL_DESTINATION "${HYENA_CMAKE_DIR}")
# Header-only: the version file must not record the builder's pointer size.
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/hyenaConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/hyenaConfig.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/hyenaConfigVersion.cmake"
  cmake/HyenaDependencies.cmake
  DESTINATION "${HYENA_CMAKE_DIR}")

configure_file(cmake/hyena.pc.in "${CMAKE_CURRENT_BINARY_DIR}/hyena.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/hyena.pc"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/pkgconfig")
