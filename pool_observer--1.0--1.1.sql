/* pool_observer--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pool_observer UPDATE TO '1.1'" to load this file. \quit

--
-- 1.1: where each pool's time goes (profile), what PostgreSQL itself did
-- (outcomes and pool_counters), and sizing advice.
--
-- pool_observer--1.1.sql is not edited by hand: the Makefile makes it from
-- pool_observer--1.0.sql followed by this script, so a fresh 1.1 install
-- and an updated 1.0 one run the same statements.  Each section below adds
-- its objects and its grants together.
--
