"""The photographs the demo datasets draw their backgrounds from:
scikit-image's bundled images (licences in DATA.md), as RGB uint8 arrays.
Shared by make_digits_dataset.py and make_objects_dataset.py."""
import numpy as np

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "grass", "gravel",
          "coins", "retina", "hubble_deep_field", "immunohistochemistry"]


def photographs():
    import skimage.data as skdata
    out = []
    for name in PHOTOS:
        a = getattr(skdata, name)()
        if a.ndim == 2:
            a = np.stack([a] * 3, axis=-1)
        out.append(a[..., :3].astype(np.uint8))
    return out
