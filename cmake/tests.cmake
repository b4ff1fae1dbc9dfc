# Test discovery. Labels: unit, integration, web, vm, fuzz (run one group with `ctest -L unit`).
# - tests/unit/<module>_test.c: cmocka programs linking the real library.
# - tests/integration/*_test.sh, tests/web/*_test.sh, tests/vm/*_test.sh: scripts run as root that build
#   their own network namespaces and start their own peers.
# - tests/fuzz/fuzz_<name>.c: libFuzzer harnesses (PORTCULLIS_FUZZ=ON), run for a bounded time on
#   tests/fuzz/corpus/<name>/.

set(TEST_ENV
	"PORTCULLISD=$<TARGET_FILE:portcullisd>"
	"PORTCULLIS=$<TARGET_FILE:portcullis>"
	"PORTCULLIS_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
	"PORTCULLIS_BUILD_DIR=${CMAKE_BINARY_DIR}"
	"ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1"
	"UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
	"LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp")

file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/*_test.c)
foreach(src IN LISTS UNIT_TESTS)
	get_filename_component(name ${src} NAME_WE)
	add_executable(${name} ${src})
	target_link_libraries(${name} PRIVATE portcullis_lib PkgConfig::CMOCKA)
	target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
	add_test(NAME unit_${name} COMMAND ${name})
	set_tests_properties(unit_${name} PROPERTIES LABELS unit TIMEOUT 300
		WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} ENVIRONMENT "${TEST_ENV}")
endforeach()

foreach(group integration web vm)
	file(GLOB scripts CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${group}/*_test.sh)
	foreach(script IN LISTS scripts)
		get_filename_component(name ${script} NAME_WE)
		add_test(NAME ${group}_${name} COMMAND bash ${script})
		set_tests_properties(${group}_${name} PROPERTIES LABELS ${group} TIMEOUT 900
			RUN_SERIAL TRUE WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
			ENVIRONMENT "${TEST_ENV}")
	endforeach()
endforeach()
# vm tests boot qemu under software emulation: give them time
file(GLOB vm_scripts CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/vm/*_test.sh)
foreach(script IN LISTS vm_scripts)
	get_filename_component(name ${script} NAME_WE)
	set_tests_properties(vm_${name} PROPERTIES TIMEOUT 1200)
endforeach()

if(PORTCULLIS_FUZZ)
	file(GLOB FUZZERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
	foreach(src IN LISTS FUZZERS)
		get_filename_component(name ${src} NAME_WE)
		string(REGEX REPLACE "^fuzz_" "" corpus ${name})
		add_executable(${name} ${src})
		target_link_libraries(${name} PRIVATE portcullis_lib)
		target_link_options(${name} PRIVATE -fsanitize=fuzzer)
		target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
		set(cdir ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${corpus})
		set(wdir ${CMAKE_BINARY_DIR}/fuzz-work/${corpus})
		file(MAKE_DIRECTORY ${wdir})
		# New inputs go to a scratch dir; the committed corpus is only read.
		add_test(NAME fuzz_${corpus} COMMAND ${name} -max_total_time=${PORTCULLIS_FUZZ_SECONDS}
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=${wdir}/
			${wdir} ${cdir})
		set_tests_properties(fuzz_${corpus} PROPERTIES LABELS fuzz TIMEOUT 600
			ENVIRONMENT "${TEST_ENV}")
	endforeach()
endif()
