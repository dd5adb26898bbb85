# A thin veneer over Maven and the scripts beside it; no logic of its own.
MVN ?= mvn -B -ntp
JAR := proxy-server/target/proxy-server.jar
CONFIG ?= config/strait.yaml
# JMH options for bench-jmh; add a regex (e.g. RelayRead) to run only the matching benchmarks.
JMH_ARGS ?= -f 1 -wi 3 -w 1s -i 5 -r 1s

.PHONY: all jar run test bench bench-jmh image-test format clean

all: jar

jar:
	$(MVN) -DskipTests package

run: jar
	java -jar $(JAR) --config $(CONFIG)

test:
	$(MVN) verify

bench: jar
	bench/run

# JMH microbenchmarks of the relay (bench/jmh); never part of `make test`.
bench-jmh:
	$(MVN) -DskipTests -pl bench/jmh -am package
	java -jar bench/jmh/target/benchmarks.jar $(JMH_ARGS)

image-test: jar
	docker/image-test

format:
	$(MVN) spotless:apply

clean:
	$(MVN) clean
