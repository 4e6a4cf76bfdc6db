//! Finding the picture inside a frame: uniform bars around it (letterbox, pillarbox, the white
//! padding apps add to make a photo square) and a photo shown inside something larger (a
//! screenshot's window, a page, a caption band).
//!
//! Both detectors only look at colour uniformity, never at what the picture shows, and both
//! return at most one rectangle. They are deliberately strict: a rectangle is proposed only
//! when a side of the image is plainly a frame and the picture starts along a straight edge,
//! because every extra hash is one more chance of a false match.

use crate::pixels::PixelView;

/// A rectangle of an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Largest difference, per channel, between two colours that still counts as "the same" in a
/// frame. JPEG at ordinary qualities moves flat areas by a few levels; a photo's content
/// differs from a uniform frame by more.
const COLOUR_TOLERANCE: u8 = 10;

/// A side is trimmed only if the frame there is at least this share of the side (and at
/// least [`MIN_BAR_PIXELS`]).
const MIN_BAR_SHARE: f64 = 0.02;
const MIN_BAR_PIXELS: u32 = 3;

/// The picture must keep at least this share of each side.
const MIN_KEPT_SHARE: f64 = 0.3;

type Rgb = [u8; 3];

/// Reads pixels as RGB whatever the layout.
struct Colours<'a> {
    view: &'a PixelView<'a>,
    bpp: usize,
}

impl<'a> Colours<'a> {
    fn new(view: &'a PixelView<'a>) -> Self {
        Colours {
            view,
            bpp: view.format().bytes_per_pixel(),
        }
    }

    fn at(&self, x: u32, y: u32) -> Rgb {
        let row = self.view.row(y);
        let i = x as usize * self.bpp;
        if self.bpp == 1 {
            [row[i]; 3]
        } else {
            [row[i], row[i + 1], row[i + 2]]
        }
    }

    fn width(&self) -> u32 {
        self.view.width()
    }

    fn height(&self) -> u32 {
        self.view.height()
    }
}

fn close(a: Rgb, b: Rgb) -> bool {
    a.iter()
        .zip(b)
        .all(|(&a, b)| a.abs_diff(b) <= COLOUR_TOLERANCE)
}

/// One line of pixels (a row or a column) of the image.
#[derive(Clone, Copy)]
enum Line {
    Row(u32),
    Column(u32),
}

impl Line {
    /// The (x, y) of the line's pixels `along` it (columns of a row, rows of a column).
    fn points(self, along: std::ops::Range<u32>) -> impl Iterator<Item = (u32, u32)> {
        along.map(move |i| match self {
            Line::Row(y) => (i, y),
            Line::Column(x) => (x, i),
        })
    }

    /// The line's whole length in `c`.
    fn len(self, c: &Colours<'_>) -> u32 {
        match self {
            Line::Row(_) => c.width(),
            Line::Column(_) => c.height(),
        }
    }

    fn pixels<'c>(self, c: &'c Colours<'_>) -> impl Iterator<Item = Rgb> + 'c {
        self.points(0..self.len(c)).map(|(x, y)| c.at(x, y))
    }
}

/// The per-channel median colour of a line.
fn median(line: Line, c: &Colours<'_>) -> Rgb {
    let mut channels: [Vec<u8>; 3] = Default::default();
    for p in line.pixels(c) {
        for k in 0..3 {
            channels[k].push(p[k]);
        }
    }
    channels.map(|mut v| {
        let mid = v.len() / 2;
        *v.select_nth_unstable(mid).1
    })
}

/// Share of a line's pixels within tolerance of `colour`.
fn share_close(line: Line, c: &Colours<'_>, colour: Rgb) -> f64 {
    let (mut n, mut hits) = (0usize, 0usize);
    for p in line.pixels(c) {
        n += 1;
        hits += usize::from(close(p, colour));
    }
    hits as f64 / n.max(1) as f64
}

/// The four sides, as the line at depth `d` from that side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Top,
    Bottom,
    Left,
    Right,
}

impl Side {
    const ALL: [Side; 4] = [Side::Top, Side::Bottom, Side::Left, Side::Right];

    fn line(self, depth: u32, c: &Colours<'_>) -> Line {
        match self {
            Side::Top => Line::Row(depth),
            Side::Bottom => Line::Row(c.height() - 1 - depth),
            Side::Left => Line::Column(depth),
            Side::Right => Line::Column(c.width() - 1 - depth),
        }
    }

    /// The image's extent across this side's lines (how many lines can be trimmed from it).
    fn extent(self, c: &Colours<'_>) -> u32 {
        match self {
            Side::Top | Side::Bottom => c.height(),
            Side::Left | Side::Right => c.width(),
        }
    }
}

/// Turns the depth trimmed from each side into a rectangle, if the trims are worth a hash.
fn rect_from_trims(c: &Colours<'_>, trims: [u32; 4]) -> Option<Rect> {
    let mut trims = trims;
    for (t, side) in trims.iter_mut().zip(Side::ALL) {
        let min = MIN_BAR_PIXELS.max((side.extent(c) as f64 * MIN_BAR_SHARE).ceil() as u32);
        if *t < min {
            *t = 0;
        }
    }
    let [top, bottom, left, right] = trims;
    if trims == [0; 4] {
        return None;
    }
    let width = c.width().checked_sub(left + right)?;
    let height = c.height().checked_sub(top + bottom)?;
    let keeps = |kept: u32, all: u32| kept as f64 >= all as f64 * MIN_KEPT_SHARE;
    (keeps(width, c.width()) && keeps(height, c.height())).then_some(Rect {
        x: left,
        y: top,
        width,
        height,
    })
}

/// Uniform bars along the sides: on each side, the lines that are (almost) all the outermost
/// line's colour. Bars of any colour count (black letterbox and pillarbox, white padding),
/// each side on its own; a side whose outer line is not uniform has no bar.
pub fn bars(view: &PixelView<'_>) -> Option<Rect> {
    /// Share of a bar line's pixels that must be the bar's colour (JPEG ringing next to the
    /// picture leaves a few off).
    const UNIFORM: f64 = 0.97;
    let c = Colours::new(view);
    let trims = Side::ALL.map(|side| {
        let limit = (side.extent(&c) as f64 * (1.0 - MIN_KEPT_SHARE) / 2.0) as u32;
        let colour = median(side.line(0, &c), &c);
        (0..limit)
            .take_while(|&d| share_close(side.line(d, &c), &c, colour) >= UNIFORM)
            .count() as u32
    });
    rect_from_trims(&c, trims)
}

/// A picture shown inside a larger frame: a screenshot's window and title bar, a page around
/// a photo, a caption band above it.
///
/// The sides whose outer line is (nearly) uniform are the frame; the frame is flooded inwards
/// through pixels of its colour, so text and buttons on it stay islands; the largest region
/// left is the picture. Its bounding box is proposed when it is a clean rectangle: every side
/// it trims away starts along a straight edge of picture.
pub fn embedded(view: &PixelView<'_>) -> Option<Rect> {
    /// Share of a side's outer line that must be one colour for the side to be frame.
    const FRAME_SIDE: f64 = 0.9;
    /// Share of the picture's first line on a trimmed side that must be picture.
    const STRAIGHT_EDGE: f64 = 0.5;
    let c = Colours::new(view);
    let (w, h) = (c.width() as usize, c.height() as usize);

    // 1. Flood the frame from the outer lines of the uniform sides.
    let mut flooded = vec![false; w * h];
    let mut seed_colour = vec![[0u8; 3]; 0];
    let mut stack: Vec<(u32, u32, usize)> = Vec::new();
    for side in Side::ALL {
        let line = side.line(0, &c);
        let colour = median(line, &c);
        if share_close(line, &c, colour) < FRAME_SIDE {
            continue;
        }
        let k = seed_colour.len();
        seed_colour.push(colour);
        stack.extend(line.points(0..line.len(&c)).map(|(x, y)| (x, y, k)));
    }
    if seed_colour.is_empty() {
        return None;
    }
    while let Some((x, y, k)) = stack.pop() {
        let i = y as usize * w + x as usize;
        if flooded[i] || !close(c.at(x, y), seed_colour[k]) {
            continue;
        }
        flooded[i] = true;
        for (nx, ny) in neighbours(x, y, c.width(), c.height()) {
            if !flooded[ny as usize * w + nx as usize] {
                stack.push((nx, ny, k));
            }
        }
    }

    // 2. The largest connected region of what is left, and its bounding box.
    let mut seen = flooded.clone();
    let mut best: Option<(usize, [u32; 4])> = None;
    let mut todo: Vec<(u32, u32)> = Vec::new();
    for start in 0..w * h {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        todo.push(((start % w) as u32, (start / w) as u32));
        let (mut size, mut bbox) = (0usize, [u32::MAX, u32::MAX, 0, 0]);
        while let Some((x, y)) = todo.pop() {
            size += 1;
            bbox = [
                bbox[0].min(x),
                bbox[1].min(y),
                bbox[2].max(x),
                bbox[3].max(y),
            ];
            for (nx, ny) in neighbours(x, y, c.width(), c.height()) {
                let j = ny as usize * w + nx as usize;
                if !seen[j] {
                    seen[j] = true;
                    todo.push((nx, ny));
                }
            }
        }
        if best.is_none_or(|(s, _)| size > s) {
            best = Some((size, bbox));
        }
    }
    let (_, [x0, y0, x1, y1]) = best?;
    let trims = [y0, c.height() - 1 - y1, x0, c.width() - 1 - x1];
    let rect = rect_from_trims(&c, trims)?;

    // 3. Every trimmed side must meet the picture along a straight edge.
    let picture_share = |line: Line| {
        let along = match line {
            Line::Row(_) => rect.x..rect.x + rect.width,
            Line::Column(_) => rect.y..rect.y + rect.height,
        };
        let n = along.len();
        let picture = line
            .points(along)
            .filter(|&(x, y)| !flooded[y as usize * w + x as usize])
            .count();
        picture as f64 / n.max(1) as f64
    };
    let edges = [
        (rect.y > 0, Line::Row(rect.y)),
        (
            rect.y + rect.height < c.height(),
            Line::Row(rect.y + rect.height - 1),
        ),
        (rect.x > 0, Line::Column(rect.x)),
        (
            rect.x + rect.width < c.width(),
            Line::Column(rect.x + rect.width - 1),
        ),
    ];
    edges
        .iter()
        .filter(|(trimmed, _)| *trimmed)
        .all(|&(_, line)| picture_share(line) >= STRAIGHT_EDGE)
        .then_some(rect)
}

/// The 4-neighbours of (x, y) inside a w x h image.
fn neighbours(x: u32, y: u32, w: u32, h: u32) -> impl Iterator<Item = (u32, u32)> {
    [
        (x > 0).then(|| (x - 1, y)),
        (x + 1 < w).then(|| (x + 1, y)),
        (y > 0).then(|| (x, y - 1)),
        (y + 1 < h).then(|| (x, y + 1)),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::{PixelFormat, Pixels};

    /// A busy "photo" (every pixel differs from its neighbours).
    fn photo(w: u32, h: u32) -> Vec<Rgb> {
        (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    (x * 7 + y * 3) as u8,
                    (x * y % 251) as u8,
                    (255 - (x * 5 + y * 11) % 256) as u8,
                ]
            })
            .collect()
    }

    /// `inner` (iw x ih) placed at (ox, oy) on a canvas of `background`.
    fn compose(
        (cw, ch): (u32, u32),
        background: impl Fn(u32, u32) -> Rgb,
        (ox, oy, iw, ih): (u32, u32, u32, u32),
    ) -> Pixels {
        let inner = photo(iw, ih);
        let mut data = Vec::with_capacity((cw * ch * 3) as usize);
        for y in 0..ch {
            for x in 0..cw {
                let p = if (ox..ox + iw).contains(&x) && (oy..oy + ih).contains(&y) {
                    inner[((y - oy) * iw + (x - ox)) as usize]
                } else {
                    background(x, y)
                };
                data.extend_from_slice(&p);
            }
        }
        Pixels::new(data, cw, ch, PixelFormat::Rgb8).unwrap()
    }

    fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn letterbox_and_pillarbox_bars_are_cut_off() {
        let letterbox = compose((200, 150), |_, _| [2, 1, 3], (0, 15, 200, 120));
        assert_eq!(bars(&letterbox.view()), Some(rect(0, 15, 200, 120)));
        let pillarbox = compose((240, 120), |_, _| [0, 0, 0], (30, 0, 180, 120));
        assert_eq!(bars(&pillarbox.view()), Some(rect(30, 0, 180, 120)));
        let padded = compose((200, 200), |_, _| [255, 255, 255], (10, 40, 180, 120));
        assert_eq!(bars(&padded.view()), Some(rect(10, 40, 180, 120)));
    }

    #[test]
    fn no_bars_no_rectangle() {
        let plain = compose((200, 150), |_, _| [0, 0, 0], (0, 0, 200, 150));
        assert_eq!(bars(&plain.view()), None);
        assert_eq!(embedded(&plain.view()), None);
        // A bar of one line is noise, not a letterbox.
        let thin = compose((200, 150), |_, _| [0, 0, 0], (0, 1, 200, 148));
        assert_eq!(bars(&thin.view()), None);
    }

    #[test]
    fn a_picture_in_a_window_with_a_title_bar_is_found() {
        // Light-grey window, dark title bar 12 px high with light "text" on it.
        let window = |x: u32, y: u32| {
            if y < 12 {
                if (3..9).contains(&y) && (10..60).contains(&x) && !x.is_multiple_of(4) {
                    [230, 230, 230]
                } else {
                    [40, 40, 40]
                }
            } else {
                [235, 235, 235]
            }
        };
        let shot = compose((300, 230), window, (45, 40, 210, 150));
        assert_eq!(embedded(&shot.view()), Some(rect(45, 40, 210, 150)));
        // The bars alone stop at the title bar's text.
        assert_ne!(bars(&shot.view()), Some(rect(45, 40, 210, 150)));
    }

    #[test]
    fn a_caption_band_above_a_photo_is_cut_off() {
        let band = |x: u32, y: u32| {
            if (8..20).contains(&y) && !(x / 6).is_multiple_of(3) {
                [10, 10, 10]
            } else {
                [255, 255, 255]
            }
        };
        let captioned = compose((200, 180), band, (0, 30, 200, 150));
        assert_eq!(embedded(&captioned.view()), Some(rect(0, 30, 200, 150)));
    }

    #[test]
    fn a_ragged_uniform_area_is_not_a_frame() {
        // Flat "sky" over a skyline that is not straight: no rectangle.
        let sky = |_: u32, _: u32| [120, 170, 230];
        let mut p = compose((200, 150), sky, (0, 40, 200, 110));
        let data = p.as_bytes().to_vec();
        let mut data = data;
        for x in 0..200u32 {
            let top = 40 - (x % 50) / 2; // hills rising into the sky
            for y in top..40 {
                let i = ((y * 200 + x) * 3) as usize;
                data[i..i + 3].copy_from_slice(&[(x * 3) as u8, 90, (y * 5) as u8]);
            }
        }
        p = Pixels::new(data, 200, 150, PixelFormat::Rgb8).unwrap();
        assert_eq!(embedded(&p.view()), None);
    }
}
