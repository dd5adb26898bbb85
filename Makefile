# A thin veneer over Maven and the scripts beside it; no logic of its own.
MVN ?= mvn -B -ntp
JAR := proxy-server/target/proxy-server.jar
CONFIG ?= config/strait.yaml
# JMH options for bench-jmh; add a regex (e.g. RelayRead) to run only the matching benchmarks.
JMH_ARGS ?= -f 1 -wi 3 -w 1s -i 5 -r 1s
# What the jar is built from: Maven runs again only when one of these is newer than the jar.
JAR_INPUTS := pom.xml $(shell find proxy-common proxy-server -path '*/target' -prune -o -type f \
	\( -name pom.xml -o -path '*/src/main/*' \) -print)

.PHONY: all jar run test bench bench-jmh image-test format clean soak fuzz

all: jar

jar: $(JAR)

$(JAR): $(JAR_INPUTS)
	$(MVN) -DskipTests -pl proxy-server -am package

run: $(JAR)
	java -jar $(JAR) --config $(CONFIG)

# scripts/test-deps: the Debian packages the tests use (installed as root, else the apt-get line and exit 2).
# -Pbench: the JMH module is compiled and format-checked too (it has no tests).
test:
	scripts/test-deps
	$(MVN) -Pbench verify

# The churn mix of ChurnIT against the jar for SOAK_MINUTES, with RSS, descriptor, thread and direct-memory samples
# every 10s, failing on growth after the warm-up; never part of `make test` (which runs the same mix for 60s).
SOAK_MINUTES ?= 30
soak:
	$(MVN) -pl proxy-server -am verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=ChurnIT \
		-Dfailsafe.failIfNoSpecifiedTests=false -Dstrait.ownJvm.skip=true \
		-Dstrait.churnSeconds=$$(( $(SOAK_MINUTES) * 60 )) \
		-Djunit.jupiter.execution.timeout.default=$$(( $(SOAK_MINUTES) + 10 ))m

# Jazzer fuzzes the config loader for 5 minutes (`make test` only replays the committed corpus); a crashing input
# is written under proxy-server/src/test/resources/.../ConfigLoaderFuzzTestInputs: commit it with the fix.
fuzz:
	JAZZER_FUZZ=1 $(MVN) -pl proxy-server -am test -Dtest=ConfigLoaderFuzzTest -Dsurefire.failIfNoSpecifiedTests=false \
		-Djunit.jupiter.execution.timeout.default=10m

bench: $(JAR)
	bench/run

# JMH microbenchmarks of the relay (bench/jmh, the `bench` profile); never part of `make`.
bench-jmh:
	$(MVN) -Pbench -DskipTests -pl bench/jmh -am package
	java -jar bench/jmh/target/benchmarks.jar $(JMH_ARGS)

image-test: $(JAR)
	scripts/test-deps image
	docker/image-test

format:
	$(MVN) -Pbench spotless:apply

clean:
	$(MVN) -Pbench clean
