# Finds what hyena's headers need. Also included by the installed
# hyenaConfig.cmake, so a consumer's find_package(hyena) finds the same things.
include(CMakeFindDependencyMacro)

find_dependency(Eigen3 3.3 NO_MODULE)
# Eigen's version file accepts only its own major version and rejects ranges,
# so the 3.4 minimum is checked here.
if(Eigen3_VERSION VERSION_LESS 3.4)
  message(FATAL_ERROR "hyena needs Eigen >= 3.4, found ${Eigen3_VERSION}")
endif()

# Debian ships FFTW with pkg-config files only, no CMake package.
find_dependency(PkgConfig)
if(NOT TARGET PkgConfig::HYENA_FFTW)
  pkg_check_modules(HYENA_FFTW REQUIRED IMPORTED_TARGET GLOBAL fftw3 fftw3f)
endif()

find_dependency(nlohmann_json 3.9)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_dependency(Threads)
