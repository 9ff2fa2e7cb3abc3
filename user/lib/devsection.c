// SPDX-License-Identifier: GPL-2.0
/* Device section payloads shared by the v1 and v2 clients. */
#include <errno.h>
#include <inttypes.h>

#include "devsection.h"

int vfmig_devsec_expect_tag(const char *name, struct vfmig_load_io *io, uint64_t want)
{
	uint64_t at = vfmig_reader_offset(io->r), tag;
	int ret;

	ret = vfmig_stream_get_tag(io->r, &tag, io->err);
	if (ret)
		return ret;
	if (tag != want)
		return vfmig_err_set(io->err, -EPROTO,
				     "%s: stream offset %" PRIu64 ": expected %s tag, found %s",
				     name, at, vfmig_tag_name(want), vfmig_tag_name(tag));
	return 0;
}

int vfmig_devsec_next_data(const char *name, struct vfmig_load_io *io, uint64_t *size)
{
	uint64_t tag, at;
	int ret;

	if (vfmig_cancel_requested(io->cancel))
		return vfmig_err_set(io->err, -ECANCELED, "%s: load cancelled", name);
	at = vfmig_reader_offset(io->r);
	ret = vfmig_stream_get_tag(io->r, &tag, io->err);
	if (ret)
		return ret;
	if (tag == VFMIG_TAG_END_OF_STATE)
		return 0;
	if (tag != VFMIG_TAG_DATA)
		return vfmig_err_set(io->err, -EPROTO,
				     "%s: stream offset %" PRIu64 ": %s tag in a %s section",
				     name, at, vfmig_tag_name(tag),
				     vfmig_section_type_name(io->sec->type));
	ret = vfmig_stream_get_size(io->r, VFMIG_STREAM_MAX_DATA, "data chunk size", size, io->err);
	return ret ? ret : 1;
}

int vfmig_devsec_load_start(const char *name, struct vfmig_load_io *io)
{
	int ret = vfmig_devsec_expect_tag(name, io, VFMIG_TAG_SETUP);

	return ret ? ret : vfmig_devsec_expect_tag(name, io, VFMIG_TAG_END_OF_STATE);
}

int vfmig_devsec_save_config(const struct vfmig_v1dev_config_ops *config, const char *name,
			     struct vfmig_save_io *io)
{
	uint8_t buf[VFMIG_V1DEV_MAX_CONFIG];
	size_t len = 0;
	int ret;

	if (config && config->save) {
		ret = config->save(config->opaque, buf, sizeof(buf), &len, io->err);
		if (ret) {
			vfmig_err_prefix(io->err, "%s: save config: ", name);
			return ret;
		}
		if (len > sizeof(buf))
			return vfmig_err_set(io->err, -EOVERFLOW, "%s: config of %zu bytes exceeds %u",
					     name, len, VFMIG_V1DEV_MAX_CONFIG);
	}
	ret = vfmig_stream_put_blob(io->w, VFMIG_TAG_CONFIG, len, io->err);
	if (!ret)
		ret = vfmig_writer_put(io->w, buf, len, io->err);
	if (!ret)
		ret = vfmig_stream_put_tag(io->w, VFMIG_TAG_END_OF_STATE, io->err);
	return ret;
}

int vfmig_devsec_load_config(const struct vfmig_v1dev_config_ops *config, const char *name,
			     struct vfmig_load_io *io)
{
	uint8_t buf[VFMIG_V1DEV_MAX_CONFIG];
	uint64_t size;
	int ret;

	ret = vfmig_devsec_expect_tag(name, io, VFMIG_TAG_CONFIG);
	if (!ret)
		ret = vfmig_stream_get_size(io->r, VFMIG_V1DEV_MAX_CONFIG, "config size", &size,
					    io->err);
	if (!ret)
		ret = vfmig_reader_get(io->r, buf, (size_t)size, "config", io->err);
	if (ret)
		return ret;
	if (config && config->load) {
		ret = config->load(config->opaque, buf, (size_t)size, io->err);
		if (ret) {
			vfmig_err_prefix(io->err, "%s: load config: ", name);
			return ret;
		}
	} else if (size) {
		return vfmig_err_set(io->err, -EPROTO,
				     "%s: stream carries %" PRIu64 " config bytes but no config handler is set",
				     name, size);
	}
	return vfmig_devsec_expect_tag(name, io, VFMIG_TAG_END_OF_STATE);
}
