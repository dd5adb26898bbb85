# A thin veneer over Maven and the scripts beside it; no logic of its own.
MVN ?= mvn -B -ntp
JAR := proxy-server/target/proxy-server.jar
CONFIG ?= config/strait.yaml

.PHONY: all jar run test bench image-test format clean

all: jar

jar:
	$(MVN) -DskipTests package

run: jar
	java -jar $(JAR) --config $(CONFIG)

test:
	$(MVN) verify

bench: jar
	bench/run

image-test: jar
	docker/image-test

format:
	$(MVN) spotless:apply

clean:
	$(MVN) clean
